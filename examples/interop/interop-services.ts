import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { defineService, type ServiceRegistration } from "../../src/server/index.js";
import { createReflectionServices } from "../../src/server/reflection/index.js";
import { createTestService } from "./test-service.js";

/**
 * Everything an interop server registers: TestService, UnimplementedService with no methods
 * (so every call to it answers UNIMPLEMENTED, as unimplemented_service expects), and
 * reflection, so reflection-driven tools can explore it.
 */
export function createInteropServices(): ServiceRegistration[] {
  const services = [
    defineService(TestService, createTestService()),
    defineService(UnimplementedService, {}),
  ];
  return [...services, ...createReflectionServices({ services })];
}
