export { addService } from "./add-service.js";
export type { GrpcJsServer, GrpcJsServerOptions } from "./create-grpc-js-server.js";
export { createGrpcJsServer } from "./create-grpc-js-server.js";
export { createGrpcJsServiceDefinition } from "./grpc-js-service-definition.js";
