export type { ClientAuthOptions } from "./auth-transport.js";
export { createAuthTransport } from "./auth-transport.js";
export type {
  ClientOptions,
  ClientOptionsWithTransport,
  ClientOptionsWithUrl,
  MethodFallbacks,
} from "./create-client.js";
export { createClient } from "./create-client.js";
