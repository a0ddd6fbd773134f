import { create } from "@bufbuild/protobuf";
import {
  type Caller,
  CallerSchema,
  GuardedService,
} from "../../../gen/protomesh/testing/v1/guarded_pb.js";
import { currentCallContext } from "../../../src/context/index.js";
import { defineService, type ServiceRegistration } from "../../../src/server/index.js";

/** Who the call context says is calling: what every test asserts on. */
function caller(): Caller {
  const principal = currentCallContext()?.principal;
  return create(CallerSchema, {
    identity: currentCallContext()?.peerIdentity ?? "",
    subject: principal?.subject ?? "",
    scopes: [...(principal?.scopes ?? [])].sort(),
  });
}

/** GuardedService, answering with the principal the server established. */
export function guardedService(): ServiceRegistration {
  return defineService(GuardedService, {
    public: () => ({ caller: caller() }),
    open: () => ({ caller: caller() }),
    scoped: () => ({ caller: caller() }),
    roles: () => ({ caller: caller() }),
    internal: () => ({ caller: caller() }),
    async *watch(request) {
      for (let i = 0; i < request.count; i++) {
        await new Promise((resolve) => setTimeout(resolve, request.delayMs));
        yield { caller: caller() };
      }
    },
  });
}
