// The interop proof matrix: the same TestService handlers on {protomesh createServer (its lean
// engine serves gRPC and Connect unary, connect-node gRPC-Web), createServer's connect-node
// engine alone (gRPC and everything else), the grpc-js binding} × {Connect's gRPC,
// Connect-protocol and gRPC-Web transports, a grpc-js client built by @grpc/proto-loader from
// proto/grpc/testing/test.proto — none of our generated code — and protomesh's own grpc-js and
// connect-node transports}. Each cell: unary, server streaming, an error with message and
// details, an error message alone (grpc-message is all the client has), metadata both ways, an
// expiring deadline. Plus curl speaking the Connect protocol with JSON.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestService,
  echoInitialHeader,
  echoTrailingHeader,
} from "../../examples/interop/test-service.js";
import { EchoStatusSchema } from "../../gen/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { createConnectEngine } from "../../src/server/connect-engine/index.js";
import { createGrpcJsServer } from "../../src/server/grpc-js/index.js";
import {
  createServer,
  defineService,
  type ServerAddress,
  type ServiceRegistration,
} from "../../src/server/index.js";
import { createServerConcerns } from "../../src/server/server-concerns.js";
import { serverDefaults } from "../../src/server/server-defaults.js";
import { createConnectNodeTransport, createGrpcJsTransport } from "../../src/transport/index.js";

/**
 * The message, and one with every kind of character gRPC's grpc-message encoding
 * treats apart: ':' '/' ',' (sent as they are, which encodeURIComponent did not), '%' (encoded),
 * BMP and non-BMP characters and control characters (encoded as UTF-8 %XX).
 */
const errorMessages = [
  "order ord_1: not found at /v1/orders (100% sure, é)",
  "a: b/c, 100% é ☺ 😈\u0007\ttabbed\nnext line",
];

/**
 * The interop TestService, with UnimplementedCall failing NOT_FOUND with `message` and no
 * details: google.rpc.Status details carry the message too (and Connect clients read it from
 * there), so only an error without them proves what grpc-message itself delivers.
 */
function matrixServices(): ServiceRegistration[] {
  return [
    defineService(TestService, {
      ...createTestService(),
      unimplementedCall(_request, context) {
        const message = context.requestHeader.get("x-matrix-message") ?? "";
        throw new ConnectError(decodeURIComponent(message), Code.NotFound);
      },
    }),
    defineService(UnimplementedService, {}),
  ];
}

/** What every engine of the matrix offers the test. */
interface MatrixServer {
  listen(): Promise<ServerAddress>;
  close(): Promise<void>;
}

/** createServer's connect-node engine alone on node:http2 (h2c), as createServer builds it. */
function connectEngineServer(services: readonly ServiceRegistration[]): MatrixServer {
  const concerns = createServerConcerns({ services, logger: false });
  const server = createHttp2Server(
    createConnectEngine({
      services: concerns.services,
      observer: concerns.observer,
      maxReceiveMessageBytes: serverDefaults.maxReceiveMessageBytes,
      maxTimeoutMs: serverDefaults.maxTimeoutMs,
    }),
  );
  return {
    listen: () =>
      new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo;
          resolve({ host: "127.0.0.1", port, url: `http://127.0.0.1:${port}` });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/** What each cell checks, whatever the client library. */
interface MatrixClient {
  /** UnaryCall asking for `size` bytes, with echo metadata; what came back. */
  unary(size: number): Promise<{ size: number; header: string | null; trailer: string | null }>;
  /** StreamingOutputCall asking for these sizes; the sizes received. */
  stream(sizes: number[]): Promise<number[]>;
  /** UnaryCall asking for this status; the code, message and EchoStatus details received. */
  fail(code: number, message: string): Promise<ReceivedError>;
  /** UnimplementedCall failing with this message and no details; the code and message received. */
  failPlain(message: string): Promise<{ code: number; message: string }>;
  /** A server stream that outlives a 50 ms deadline; the status code received. */
  expire(): Promise<number>;
  close(): void;
}

interface ReceivedError {
  code: number;
  message: string;
  details: { code: number; message: string }[];
}

const initialValue = "matrix-initial-value";
const trailingBytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);

function connectClient(transport: Transport, close = () => {}): MatrixClient {
  const client = createClient(TestService, transport);
  const expectError = async (call: Promise<unknown>): Promise<ConnectError> => {
    try {
      await call;
    } catch (error) {
      return ConnectError.from(error);
    }
    throw new Error("expected the call to fail");
  };
  return {
    async unary(size) {
      let header: string | null = null;
      let trailer: string | null = null;
      const response = await client.unaryCall(
        { responseSize: size },
        {
          headers: {
            [echoInitialHeader]: initialValue,
            [echoTrailingHeader]: trailingBytes.toString("base64"),
          },
          onHeader: (h) => {
            header = h.get(echoInitialHeader);
          },
          onTrailer: (t) => {
            trailer = t.get(echoTrailingHeader);
          },
        },
      );
      return { size: response.payload?.body.length ?? -1, header, trailer };
    },
    async stream(sizes) {
      const seen: number[] = [];
      const request = { responseParameters: sizes.map((size) => ({ size })) };
      for await (const r of client.streamingOutputCall(request)) {
        seen.push(r.payload?.body.length ?? -1);
      }
      return seen;
    },
    async fail(code, message) {
      const error = await expectError(client.unaryCall({ responseStatus: { code, message } }));
      return {
        code: error.code,
        message: error.rawMessage,
        details: error
          .findDetails(EchoStatusSchema)
          .map(({ code, message }) => ({ code, message })),
      };
    },
    async failPlain(message) {
      const error = await expectError(
        client.unimplementedCall(
          {},
          { headers: { "x-matrix-message": encodeURIComponent(message) } },
        ),
      );
      return { code: error.code, message: error.rawMessage };
    },
    async expire() {
      const call = (async () => {
        const request = { responseParameters: [{ size: 1, intervalUs: 10_000_000 }] };
        for await (const _ of client.streamingOutputCall(request, { timeoutMs: 50 })) {
          // nothing arrives before the deadline
        }
      })();
      return (await expectError(call)).code;
    },
    close,
  };
}

/** The generic client proto-loader builds: methods take plain objects, results are plain. */
interface LoadedTestClient extends grpc.Client {
  unaryCall(
    request: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { payload?: { body: Buffer } }) => void,
  ): grpc.ClientUnaryCall;
  streamingOutputCall(
    request: object,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<{ payload?: { body: Buffer } }>;
  unimplementedCall(
    request: object,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null) => void,
  ): grpc.ClientUnaryCall;
}

/** Loads test.proto straight from the .proto files, as any grpc-js user would. */
function loadTestService(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync("grpc/testing/test.proto", {
    includeDirs: ["proto"],
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { testing: { TestService: grpc.ServiceClientConstructor } };
  };
  return loaded.grpc.testing.TestService;
}

/**
 * Decodes grpc-status-details-bin the way grpc-js users do: protobufjs (proto-loader's own
 * parser) loading google.rpc.Status and the detail types from .proto files.
 */
function createDetailsDecoder(): (bytes: Buffer) => ReceivedError["details"] {
  const root = new protobuf.Root();
  const includeDirs = ["proto", "test/fixtures/proto"];
  root.resolvePath = (_origin, target) =>
    includeDirs.map((dir) => `${dir}/${target}`).find((path) => existsSync(path)) ?? target;
  root.loadSync(["google/rpc/status.proto", "grpc/testing/messages.proto"]);
  const Status = root.lookupType("google.rpc.Status");
  return (bytes) => {
    const status = Status.toObject(Status.decode(bytes)) as {
      // protobufjs's built-in Any keeps the proto field name.
      details?: { type_url: string; value: Uint8Array }[];
    };
    return (status.details ?? []).map(({ type_url: typeUrl, value }) => {
      const type = root.lookupType(typeUrl.slice(typeUrl.lastIndexOf("/") + 1));
      return type.toObject(type.decode(value), { defaults: true }) as {
        code: number;
        message: string;
      };
    });
  };
}

function grpcJsClient(address: ServerAddress): MatrixClient {
  const Ctor = loadTestService();
  const decodeDetails = createDetailsDecoder();
  const client = new Ctor(
    `${address.host}:${address.port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as LoadedTestClient;

  const unaryCall = (request: object, metadata = new grpc.Metadata(), options = {}) => {
    let header: grpc.Metadata | undefined;
    let trailer: grpc.Metadata | undefined;
    const result = new Promise<{ payload?: { body: Buffer } } | undefined>((resolve, reject) => {
      const call = client.unaryCall(request, metadata, options, (error, response) =>
        error ? reject(error) : resolve(response),
      );
      call.on("metadata", (m: grpc.Metadata) => {
        header = m;
      });
      call.on("status", (s: grpc.StatusObject) => {
        trailer = s.metadata;
      });
    });
    return { result, header: () => header, trailer: () => trailer };
  };
  const serviceError = async (call: Promise<unknown>): Promise<grpc.ServiceError> => {
    try {
      await call;
    } catch (error) {
      return error as grpc.ServiceError;
    }
    throw new Error("expected the call to fail");
  };

  return {
    async unary(size) {
      const metadata = new grpc.Metadata();
      metadata.set(echoInitialHeader, initialValue);
      metadata.set(echoTrailingHeader, trailingBytes);
      const call = unaryCall({ responseSize: size }, metadata);
      const response = await call.result;
      const trailing = call.trailer()?.get(echoTrailingHeader)[0];
      return {
        size: response?.payload?.body.length ?? -1,
        header: (call.header()?.get(echoInitialHeader)[0] as string | undefined) ?? null,
        trailer: Buffer.isBuffer(trailing) ? trailing.toString("base64") : null,
      };
    },
    async stream(sizes) {
      const seen: number[] = [];
      const call = client.streamingOutputCall({
        responseParameters: sizes.map((size) => ({ size })),
      });
      for await (const r of call)
        seen.push((r as { payload?: { body: Buffer } }).payload?.body.length ?? -1);
      return seen;
    },
    async fail(code, message) {
      const error = await serviceError(unaryCall({ responseStatus: { code, message } }).result);
      const [bytes] = error.metadata.get("grpc-status-details-bin");
      const details = Buffer.isBuffer(bytes) ? decodeDetails(bytes) : [];
      return { code: error.code, message: error.details, details };
    },
    async failPlain(message) {
      const metadata = new grpc.Metadata();
      metadata.set("x-matrix-message", encodeURIComponent(message));
      const error = await serviceError(
        new Promise<void>((resolve, reject) =>
          client.unimplementedCall({}, metadata, (e) => (e ? reject(e) : resolve())),
        ),
      );
      return { code: error.code, message: error.details };
    },
    async expire() {
      const call = client.streamingOutputCall(
        { responseParameters: [{ size: 1, intervalUs: 10_000_000 }] },
        new grpc.Metadata(),
        { deadline: Date.now() + 50 },
      );
      const error = await serviceError(
        (async () => {
          for await (const _ of call) {
            // nothing arrives before the deadline
          }
        })(),
      );
      return error.code;
    },
    close: () => client.close(),
  };
}

type ClientFactory = (address: ServerAddress) => MatrixClient;
type Protocol = "grpc" | "connect" | "grpc-web";
const clients: [string, Protocol, ClientFactory][] = [
  [
    "Connect gRPC transport",
    "grpc",
    ({ url }) => connectClient(createGrpcTransport({ baseUrl: url })),
  ],
  [
    "Connect protocol transport",
    "connect",
    ({ url }) => connectClient(createConnectTransport({ baseUrl: url, httpVersion: "2" })),
  ],
  [
    "gRPC-Web transport",
    "grpc-web",
    ({ url }) => connectClient(createGrpcWebTransport({ baseUrl: url, httpVersion: "2" })),
  ],
  ["grpc-js + proto-loader client", "grpc", grpcJsClient],
  [
    "protomesh grpc-js transport",
    "grpc",
    ({ host, port }) => {
      const transport = createGrpcJsTransport({ target: `${host}:${port}` });
      return connectClient(transport, () => transport.close());
    },
  ],
  [
    "protomesh connect-node transport (gRPC)",
    "grpc",
    ({ url }) => connectClient(createConnectNodeTransport({ baseUrl: url })),
  ],
  [
    "protomesh connect-node transport (Connect)",
    "connect",
    ({ url }) => connectClient(createConnectNodeTransport({ baseUrl: url, protocol: "connect" })),
  ],
];
const all: Protocol[] = ["grpc", "connect", "grpc-web"];
const engines: [string, () => MatrixServer, Protocol[]][] = [
  ["protomesh createServer", () => createServer({ services: matrixServices() }), all],
  ["createServer's connect-node engine", () => connectEngineServer(matrixServices()), all],
  // grpc-js speaks gRPC only: Connect-protocol and gRPC-Web clients are checked to fail cleanly.
  ["grpc-js binding", () => createGrpcJsServer({ services: matrixServices() }), ["grpc"]],
];
const cells = engines.flatMap(([engine, start, speaks]) =>
  clients.map(([client, protocol, connect]) => ({
    engine,
    client,
    start,
    connect,
    supported: speaks.includes(protocol),
  })),
);

describe.each(cells.filter((c) => c.supported))("$engine × $client", ({ start, connect }) => {
  let server: MatrixServer;
  let client: MatrixClient;
  beforeAll(async () => {
    server = start();
    client = connect(await server.listen());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("unary", async () => {
    expect((await client.unary(1_234)).size).toBe(1_234);
  });

  it("server streaming", async () => {
    expect(await client.stream([3, 0, 70_000, 5])).toEqual([3, 0, 70_000, 5]);
  });

  it.each(errorMessages)(
    "an error with a message and google.rpc.Status details: %j",
    async (message) => {
      const error = await client.fail(Code.FailedPrecondition, message);
      expect(error).toEqual({
        code: Code.FailedPrecondition,
        message,
        details: [{ code: Code.FailedPrecondition, message }],
      });
    },
  );

  it.each(errorMessages)("an error message alone, exact on arrival: %j", async (message) => {
    expect(await client.failPlain(message)).toEqual({ code: Code.NotFound, message });
  });

  it("custom metadata both ways (text header, binary trailer)", async () => {
    const { header, trailer } = await client.unary(1);
    expect(header).toBe(initialValue);
    expect(Buffer.from(trailer ?? "", "base64")).toEqual(trailingBytes);
  });

  it("a deadline that expires", async () => {
    expect(await client.expire()).toBe(Code.DeadlineExceeded);
  });
});

describe.each(cells.filter((c) => !c.supported))("$engine × $client", ({ start, connect }) => {
  it("is refused with an error, not a hang (grpc-js serves gRPC only)", async () => {
    const server = start();
    const client = connect(await server.listen());
    try {
      await expect(client.unary(1)).rejects.toBeInstanceOf(ConnectError);
    } finally {
      await server.close();
    }
  });
});

describe.each([
  ["protomesh createServer (lean engine)", () => createServer({ services: matrixServices() })],
  ["createServer's connect-node engine", () => connectEngineServer(matrixServices())],
] as const)("curl speaking the Connect protocol with JSON to %s", (_engine, start) => {
  const run = promisify(execFile);
  let server: MatrixServer;
  let url: string;
  beforeAll(async () => {
    server = start();
    url = (await server.listen()).url;
  });
  afterAll(() => server.close());

  async function curl(
    body: object,
    method = "UnaryCall",
    headers: string[] = [],
  ): Promise<{ status: number; json: unknown }> {
    const { stdout } = await run("curl", [
      "--silent",
      "--http2-prior-knowledge",
      "-H",
      "content-type: application/json",
      ...headers.flatMap((header) => ["-H", header]),
      "-d",
      JSON.stringify(body),
      "-w",
      "\n%{http_code}",
      `${url}/grpc.testing.TestService/${method}`,
    ]);
    const cut = stdout.lastIndexOf("\n");
    return { status: Number(stdout.slice(cut + 1)), json: JSON.parse(stdout.slice(0, cut)) };
  }

  it("makes a unary call", async () => {
    const { status, json } = await curl({ responseSize: 4 });
    expect(status).toBe(200);
    expect(json).toEqual({ payload: { body: "AAAAAA==" } });
  });

  it("receives an error as Connect JSON: HTTP status, code, message, details", async () => {
    const { status, json } = await curl({ responseStatus: { code: 5, message: "no such order" } });
    expect(status).toBe(404);
    expect(json).toMatchObject({
      code: "not_found",
      message: "no such order",
      details: [{ type: "grpc.testing.EchoStatus" }],
    });
  });

  it.each(errorMessages)("receives the exact error message: %j", async (message) => {
    const header = `x-matrix-message: ${encodeURIComponent(message)}`;
    const { status, json } = await curl({}, "UnimplementedCall", [header]);
    expect(status).toBe(404);
    expect(json).toEqual({ code: "not_found", message });
  });
});
