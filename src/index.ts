/** protomesh: contracts in proto/ become typed, resilient clients and servers. */

export type { ClientOptions } from "./client/index.js";
export { createClient } from "./client/index.js";
export type {
  ListenOptions,
  Server,
  ServerAddress,
  ServerOptions,
  ServiceRegistration,
} from "./server/index.js";
export { createServer, defineService } from "./server/index.js";
