import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_wrappers,
  type StringValue,
  StringValueSchema,
} from "@bufbuild/protobuf/wkt";
import {
  type CallOptions,
  Code,
  ConnectError,
  createClient,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import { defineService, type ServiceRegistration } from "../../../src/index.js";

// A test-only service with all four method kinds, built from a descriptor in memory: none of
// the contracts in proto/ has client- or bidi-streaming methods.
const file = create(FileDescriptorProtoSchema, {
  name: "test/echo/v1/echo.proto",
  package: "test.echo.v1",
  syntax: "proto3",
  dependency: ["google/protobuf/wrappers.proto"],
  messageType: [
    {
      name: "Blob",
      field: [
        {
          name: "data",
          number: 1,
          type: FieldDescriptorProto_Type.BYTES,
          label: FieldDescriptorProto_Label.OPTIONAL,
          jsonName: "data",
        },
      ],
    },
  ],
  service: [
    {
      name: "EchoService",
      method: [
        {
          name: "Say",
          inputType: ".google.protobuf.StringValue",
          outputType: ".google.protobuf.StringValue",
        },
        {
          name: "Repeat",
          inputType: ".google.protobuf.StringValue",
          outputType: ".google.protobuf.StringValue",
          serverStreaming: true,
        },
        {
          name: "Collect",
          inputType: ".google.protobuf.StringValue",
          outputType: ".google.protobuf.StringValue",
          clientStreaming: true,
        },
        {
          name: "Chat",
          inputType: ".google.protobuf.StringValue",
          outputType: ".google.protobuf.StringValue",
          clientStreaming: true,
          serverStreaming: true,
        },
        {
          name: "Size",
          inputType: ".test.echo.v1.Blob",
          outputType: ".google.protobuf.StringValue",
        },
      ],
    },
  ],
});

const registry = createFileRegistry(file, (name) =>
  name === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : undefined,
);

/** test.echo.v1.EchoService: Say (unary), Repeat (server), Collect (client), Chat (bidi), Size. */
export const EchoService = registry.getService("test.echo.v1.EchoService") as DescService;

type Value = { value: string };

/** What the handlers saw, for assertions. */
export interface EchoRecord {
  contexts: HandlerContext[];
  aborted: unknown[];
}

/**
 * Say answers by its input: "fail:<code>:<message>" throws, "sleep:<ms>" waits (watching the
 * signal), "meta" echoes request metadata into response header and trailer, else echoes.
 */
export function echoService(
  record: EchoRecord = { contexts: [], aborted: [] },
): ServiceRegistration {
  const watch = (context: HandlerContext) => {
    record.contexts.push(context);
    context.signal.addEventListener("abort", () => record.aborted.push(context.signal.reason));
  };
  return defineService(EchoService, {
    async say(request: StringValue, context: HandlerContext) {
      const input = request.value;
      if (input.startsWith("fail:")) {
        const [, code, ...message] = input.split(":");
        throw new ConnectError(message.join(":"), Number(code) as Code);
      }
      if (input.startsWith("sleep:")) {
        watch(context);
        await sleep(Number(input.slice(6)), context.signal);
        return { value: "slept" };
      }
      if (input === "details") {
        throw new ConnectError("with details", Code.FailedPrecondition, undefined, [
          { desc: StringValueSchema, value: { value: "why" } },
        ]);
      }
      if (input === "meta") {
        context.responseHeader.set("x-echo", context.requestHeader.get("x-custom") ?? "");
        context.responseHeader.set("x-echo-bin", context.requestHeader.get("x-custom-bin") ?? "");
        context.responseTrailer.set("x-trailer", "t1");
        return { value: context.requestHeader.get("x-custom") ?? "" };
      }
      return { value: input };
    },
    async *repeat(request: StringValue, context: HandlerContext) {
      const [word, times, pause] = request.value.split(":");
      for (let i = 0; i < Number(times ?? 1); i++) {
        if (i > 0 && pause) {
          watch(context);
          await sleep(Number(pause), context.signal);
        }
        if (word === "fail" && i === 1) throw new ConnectError("stream broke", Code.DataLoss);
        yield { value: `${word}-${i}` };
      }
    },
    async collect(requests: AsyncIterable<StringValue>) {
      const seen: string[] = [];
      for await (const r of requests) seen.push(r.value);
      return { value: seen.join(",") };
    },
    async *chat(requests: AsyncIterable<StringValue>) {
      for await (const r of requests) yield { value: `re:${r.value}` };
    },
    size(request: { data: Uint8Array }) {
      return { value: String(request.data.length) };
    },
  } as never);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** The typed face of a Connect client for EchoService. */
export interface EchoClient {
  say(request: Value, options?: CallOptions): Promise<StringValue>;
  repeat(request: Value, options?: CallOptions): AsyncIterable<StringValue>;
  collect(requests: AsyncIterable<Value>, options?: CallOptions): Promise<StringValue>;
  chat(requests: AsyncIterable<Value>, options?: CallOptions): AsyncIterable<StringValue>;
  size(request: { data: Uint8Array }, options?: CallOptions): Promise<StringValue>;
}

export function echoClient(transport: Transport): EchoClient {
  return createClient(EchoService, transport) as unknown as EchoClient;
}
