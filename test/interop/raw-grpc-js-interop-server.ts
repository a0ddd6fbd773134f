/**
 * gRPC's interop TestService written directly on `@grpc/grpc-js` (its Server, handlers and
 * Metadata, none of protomesh's server code), so protomesh's clients are tested against a
 * gRPC implementation they did not come with. Messages are (de)serialized with protobuf-es.
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type EchoStatus,
  type ResponseParameters,
  SimpleResponseSchema,
  StreamingInputCallResponseSchema,
  type StreamingOutputCallRequest,
  StreamingOutputCallResponseSchema,
} from "../../gen/grpc/testing/messages_pb.js";
import { TestService } from "../../gen/grpc/testing/test_pb.js";

const echoInitial = "x-grpc-test-echo-initial";
const echoTrailing = "x-grpc-test-echo-trailing-bin";

function definition(methods: readonly DescMethod[]): grpc.ServiceDefinition {
  const codec = <D extends DescMessage>(desc: D) => ({
    serialize: (message: MessageShape<D>) => Buffer.from(toBinary(desc, message)),
    deserialize: (bytes: Buffer) => fromBinary(desc, bytes),
  });
  const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of methods) {
    const input = codec(method.input);
    const output = codec(method.output);
    service[method.localName] = {
      path: `/${method.parent.typeName}/${method.name}`,
      requestStream:
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream:
        method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: input.serialize as (value: unknown) => Buffer,
      requestDeserialize: input.deserialize as (bytes: Buffer) => unknown,
      responseSerialize: output.serialize as (value: unknown) => Buffer,
      responseDeserialize: output.deserialize as (bytes: Buffer) => unknown,
    };
  }
  return service;
}

type Call = { metadata: grpc.Metadata; sendMetadata(m: grpc.Metadata): void };

/** Echoes the initial header now; returns the trailers to end the call with. */
function echoMetadata(call: Call): grpc.Metadata {
  const header = new grpc.Metadata();
  for (const value of call.metadata.get(echoInitial)) header.add(echoInitial, value);
  call.sendMetadata(header);
  const trailer = new grpc.Metadata();
  for (const value of call.metadata.get(echoTrailing)) trailer.add(echoTrailing, value);
  return trailer;
}

function statusError(status: EchoStatus | undefined, trailer: grpc.Metadata) {
  if (!status || status.code === 0) return undefined;
  return { code: status.code, details: status.message, metadata: trailer };
}

const payload = (size: number) => ({ body: new Uint8Array(size) });
const sleep = (us: number) => new Promise((resolve) => setTimeout(resolve, us / 1000));

async function respond(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  request: StreamingOutputCallRequest,
  parameters: readonly ResponseParameters[] = request.responseParameters,
): Promise<void> {
  for (const p of parameters) {
    if (p.intervalUs > 0) await sleep(p.intervalUs);
    if (call.cancelled) return;
    call.write(create(StreamingOutputCallResponseSchema, { payload: payload(p.size) }));
  }
}

const handlers: grpc.UntypedServiceImplementation = {
  emptyCall(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const trailer = echoMetadata(call);
    callback(null, {}, trailer);
  },
  unaryCall(
    call: grpc.ServerUnaryCall<{ responseSize: number; responseStatus?: EchoStatus }, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) {
    const trailer = echoMetadata(call);
    const error = statusError(call.request.responseStatus, trailer);
    if (error) return callback(error);
    callback(
      null,
      create(SimpleResponseSchema, { payload: payload(call.request.responseSize) }),
      trailer,
    );
  },
  streamingOutputCall(call: grpc.ServerWritableStream<StreamingOutputCallRequest, unknown>) {
    const trailer = echoMetadata(call);
    void respond(call, call.request).then(() => call.end(trailer));
  },
  streamingInputCall(
    call: grpc.ServerReadableStream<{ payload?: { body: Uint8Array } }, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) {
    const trailer = echoMetadata(call);
    let aggregatedPayloadSize = 0;
    call.on("data", (request) => {
      aggregatedPayloadSize += request.payload?.body.length ?? 0;
    });
    call.on("end", () =>
      callback(null, create(StreamingInputCallResponseSchema, { aggregatedPayloadSize }), trailer),
    );
    call.on("error", () => {});
  },
  fullDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, unknown>) {
    const trailer = echoMetadata(call);
    let chain = Promise.resolve();
    let failed = false;
    call.on("data", (request: StreamingOutputCallRequest) => {
      chain = chain.then(async () => {
        if (failed) return;
        await respond(call, request);
        const error = statusError(request.responseStatus, trailer);
        if (error) {
          failed = true;
          call.emit("error", error);
        }
      });
    });
    call.on("end", () => {
      void chain.then(() => {
        if (!failed) call.end(trailer);
      });
    });
    call.on("error", () => {});
  },
};

/** The raw grpc-js interop server on 127.0.0.1:0, cleartext or TLS (`tls` key and cert). */
export async function startRawGrpcJsInteropServer(tls?: { key: Buffer; cert: Buffer }) {
  const server = new grpc.Server();
  server.addService(
    definition(TestService.methods.filter((m) => m.name !== "UnimplementedCall")),
    handlers,
  );
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    /** Stops at once: clients keep idle connections open, and the test is over. */
    close: async () => {
      server.forceShutdown();
    },
  };
}
