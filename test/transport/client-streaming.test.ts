import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EchoService } from "../../gen/protomesh/bench/v1/echo_pb.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";
import {
  createConnectNodeTransport,
  createGrpcJsTransport,
  createHttp2Transport,
  type GrpcJsTransport,
} from "../../src/transport/index.js";

const opened: Transport[] = [];
const cases = [
  {
    name: "http2 lean engine",
    make: (port: number) => createHttp2Transport({ target: `http://127.0.0.1:${port}` }),
  },
  {
    name: "grpc-js channel",
    make: (port: number) => createGrpcJsTransport({ target: `127.0.0.1:${port}` }),
  },
  {
    name: "connect-node gRPC",
    make: (port: number) => createConnectNodeTransport({ baseUrl: `http://127.0.0.1:${port}` }),
  },
];

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer({
    services: [
      defineService(EchoService, {
        async *echoStream(requests) {
          for await (const { payload } of requests) {
            if (payload.length === 0) throw new ConnectError("empty payload", Code.InvalidArgument);
            yield { payload };
          }
        },
        async echoCollect(requests) {
          const payloads: Uint8Array[] = [];
          for await (const { payload } of requests) payloads.push(payload);
          return { payloads };
        },
      }),
    ],
    drainTimeoutMs: 1_000,
  });
  ({ port } = await server.listen());
});
afterAll(async () => {
  for (const transport of opened) (transport as Partial<GrpcJsTransport>).close?.();
  await server.close();
});

const bytes = (...values: number[]) => new Uint8Array(values);

async function* messages(...payloads: Uint8Array[]) {
  for (const payload of payloads) yield { payload };
}

describe.each(cases)("$name transport, client-side streams", ({ make }) => {
  function echo() {
    const transport = make(port);
    opened.push(transport);
    return createClient(EchoService, transport);
  }

  it("sends a client stream and gets one answer after it ends", async () => {
    const { payloads } = await echo().echoCollect(messages(bytes(1), bytes(2, 3), bytes(4)));
    expect(payloads).toEqual([bytes(1), bytes(2, 3), bytes(4)]);
  });

  it("talks both ways: each answer arrives before the next message is sent", async () => {
    const answers: Uint8Array[] = [];
    let answered = 0;
    async function* conversation() {
      for (let i = 1; i <= 3; i++) {
        yield { payload: bytes(i) };
        // Wait for the echo of this message before sending the next.
        while (answered < i) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    for await (const { payload } of echo().echoStream(conversation())) {
      answers.push(payload);
      answered += 1;
    }
    expect(answers).toEqual([bytes(1), bytes(2), bytes(3)]);
  });

  it("lets the request iterable clean up when the server ends the call first", async () => {
    let cleanedUp = false;
    async function* endless() {
      try {
        yield { payload: bytes(1) };
        yield { payload: bytes() };
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          yield { payload: bytes(2) };
        }
      } finally {
        cleanedUp = true;
      }
    }
    let failure: ConnectError | undefined;
    try {
      for await (const _ of echo().echoStream(endless())) {
        // read until the server's error
      }
    } catch (error) {
      failure = ConnectError.from(error);
    }
    expect(failure?.code).toBe(Code.InvalidArgument);
    await vi.waitFor(() => expect(cleanedUp).toBe(true), { timeout: 5_000 });
  });

  it("ends a bidi stream with the server's error after the answers before it", async () => {
    const answers: Uint8Array[] = [];
    let failure: ConnectError | undefined;
    try {
      for await (const { payload } of echo().echoStream(messages(bytes(9), bytes()))) {
        answers.push(payload);
      }
    } catch (error) {
      failure = ConnectError.from(error);
    }
    expect(answers).toEqual([bytes(9)]);
    expect(failure?.code).toBe(Code.InvalidArgument);
    expect(failure?.rawMessage).toBe("empty payload");
  });
});
