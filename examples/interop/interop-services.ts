import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { defineService, type ServiceRegistration } from "../../src/server/index.js";
import { createTestService } from "./test-service.js";

/**
 * Everything an interop server registers: TestService, and UnimplementedService with no
 * methods (so every call to it answers UNIMPLEMENTED, as unimplemented_service expects). The
 * servers add health and reflection themselves.
 */
export function createInteropServices(): ServiceRegistration[] {
  return [defineService(TestService, createTestService()), defineService(UnimplementedService, {})];
}
