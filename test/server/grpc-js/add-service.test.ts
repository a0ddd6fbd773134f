// The grpc-js binding: the TestService handlers, written against Connect's ServiceImpl, served by
// an @grpc/grpc-js Server and called over a real socket with Connect's gRPC transport.
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestService,
  echoInitialHeader,
  echoTrailingHeader,
} from "../../../examples/interop/test-service.js";
import { EchoStatusSchema } from "../../../gen/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "../../../gen/grpc/testing/test_pb.js";
import { createGrpcJsServer, type GrpcJsServer } from "../../../src/server/grpc-js/index.js";
import { defineService } from "../../../src/server/index.js";
import { rejection } from "../../support/rejection.js";

/** Resolves with the signal's reason once a handler's context signal aborts. */
let aborted: Promise<unknown> = Promise.resolve();
let markAborted: (reason: unknown) => void = () => {};

function watch(context: HandlerContext): void {
  context.signal.addEventListener("abort", () => markAborted(context.signal.reason), {
    once: true,
  });
}

let server: GrpcJsServer;
let client: ReturnType<typeof createClient<typeof TestService>>;
let unimplemented: ReturnType<typeof createClient<typeof UnimplementedService>>;

beforeAll(async () => {
  const standard = createTestService();
  server = createGrpcJsServer({
    services: [
      defineService(TestService, {
        ...standard,
        emptyCall() {
          throw new Error("secret connection string postgres://u:p@db");
        },
        async *fullDuplexCall(requests, context) {
          watch(context);
          yield* standard.fullDuplexCall?.(requests, context) ?? [];
        },
      }),
      defineService(UnimplementedService, {}),
    ],
  });
  const address = await server.listen();
  const transport = createGrpcTransport({ baseUrl: address.url });
  client = createClient(TestService, transport);
  unimplemented = createClient(UnimplementedService, transport);
});
afterAll(() => server.close());

describe("Connect ServiceImpl on an @grpc/grpc-js Server", () => {
  it("serves a unary call", async () => {
    const response = await client.unaryCall({ responseSize: 314_159 });
    expect(response.payload?.body.length).toBe(314_159);
  });

  it("serves a server stream, message by message", async () => {
    const sizes: number[] = [];
    for await (const response of client.streamingOutputCall({
      responseParameters: [{ size: 31_415 }, { size: 9 }, { size: 2_653 }],
    })) {
      sizes.push(response.payload?.body.length ?? -1);
    }
    expect(sizes).toEqual([31_415, 9, 2_653]);
  });

  it("serves client streaming and bidi streaming", async () => {
    async function* uploads() {
      for (const size of [27_182, 8, 1_828]) yield { payload: { body: new Uint8Array(size) } };
    }
    const total = await client.streamingInputCall(uploads());
    expect(total.aggregatedPayloadSize).toBe(27_182 + 8 + 1_828);

    async function* pings() {
      for (const size of [5, 6]) yield { responseParameters: [{ size }] };
    }
    const pongs: number[] = [];
    for await (const pong of client.fullDuplexCall(pings())) {
      pongs.push(pong.payload?.body.length ?? -1);
    }
    expect(pongs).toEqual([5, 6]);
  });

  it("carries code, message and google.rpc.Status details to the caller", async () => {
    const error = await rejection(
      client.unaryCall({ responseStatus: { code: Code.FailedPrecondition, message: "nope ☺ 😈" } }),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toBe("nope ☺ 😈");
    const [detail] = error.findDetails(EchoStatusSchema);
    expect(detail).toMatchObject({ code: Code.FailedPrecondition, message: "nope ☺ 😈" });
  });

  it("answers INTERNAL for a non-Connect error, without leaking its message", async () => {
    const error = await rejection(client.emptyCall({}));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
  });

  it("echoes metadata: request headers in, response headers and -bin trailers out", async () => {
    let headers: Headers | undefined;
    let trailers: Headers | undefined;
    const binary = Buffer.from([0xab, 0xab, 0xab]).toString("base64");
    await client.unaryCall(
      { responseSize: 1 },
      {
        headers: {
          [echoInitialHeader]: "test_initial_metadata_value",
          [echoTrailingHeader]: binary,
        },
        onHeader: (h) => {
          headers = h;
        },
        onTrailer: (t) => {
          trailers = t;
        },
      },
    );
    expect(headers?.get(echoInitialHeader)).toBe("test_initial_metadata_value");
    const echoed = trailers?.get(echoTrailingHeader) ?? "";
    expect([...Buffer.from(echoed, "base64")]).toEqual([0xab, 0xab, 0xab]);
  });

  it("ends a call whose deadline passes with DEADLINE_EXCEEDED, aborting the handler", async () => {
    aborted = new Promise((resolve) => {
      markAborted = resolve;
    });
    async function* slow() {
      yield { responseParameters: [{ size: 1, intervalUs: 20_000_000 }] };
    }
    const error = await rejection(
      (async () => {
        for await (const _ of client.fullDuplexCall(slow(), { timeoutMs: 100 })) {
          // no response is expected before the deadline
        }
      })(),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    const reason = await aborted;
    expect(reason).toBeInstanceOf(ConnectError);
  });

  it("runs handlers in their call context: the caller's x-request-id is echoed", async () => {
    let echoed: string | null = null;
    await client.unaryCall(
      {},
      {
        headers: { "x-request-id": "req-grpc-js-1" },
        onHeader: (h) => {
          echoed = h.get("x-request-id");
        },
      },
    );
    expect(echoed).toBe("req-grpc-js-1");
  });

  it("answers UNIMPLEMENTED for missing methods and services with no methods", async () => {
    expect((await rejection(client.unimplementedCall({}))).code).toBe(Code.Unimplemented);
    expect((await rejection(unimplemented.unimplementedCall({}))).code).toBe(Code.Unimplemented);
  });
});
