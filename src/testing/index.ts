export type {
  FakeCall,
  FakeFailure,
  ServiceFake,
  ServiceFakeOptions,
} from "./create-service-fake.js";
export { createServiceFake } from "./create-service-fake.js";
