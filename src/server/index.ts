export type { ListenOptions, Server, ServerAddress, ServerOptions } from "./create-server.js";
export { createServer } from "./create-server.js";
export type { ServiceRegistration } from "./service-registration.js";
export { defineService } from "./service-registration.js";
