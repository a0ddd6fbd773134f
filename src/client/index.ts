export type {
  ClientOptions,
  ClientOptionsWithTransport,
  ClientOptionsWithUrl,
} from "./create-client.js";
export { createClient } from "./create-client.js";
