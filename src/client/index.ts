export type {
  ClientOptions,
  ClientOptionsWithTransport,
  ClientOptionsWithUrl,
  MethodFallbacks,
} from "./create-client.js";
export { createClient } from "./create-client.js";
