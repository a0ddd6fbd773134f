export type {
  ListenOptions,
  Server,
  ServerAddress,
  ServerOptions,
} from "./create-server.js";
export { createServer } from "./create-server.js";
export type { Health } from "./health/index.js";
export { createHealth, ServingStatus } from "./health/index.js";
export { serverDefaults } from "./server-defaults.js";
export type { ServerTlsOptions } from "./server-tls.js";
export type { ServiceRegistration } from "./service-registration.js";
export { defineService } from "./service-registration.js";
