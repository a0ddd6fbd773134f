export type { GrpcEngine, GrpcEngineOptions } from "./create-grpc-engine.js";
export { createGrpcEngine } from "./create-grpc-engine.js";
