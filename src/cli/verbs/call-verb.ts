import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  type FileRegistry,
  fromJson,
  type JsonValue,
  type Message,
  toJsonString,
} from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { CliError } from "../cli-error.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs, stringOption } from "../parse-verb-args.js";
import { parseJsonInput, readDataArgument } from "../remote/json-input.js";
import { createReflectionClient } from "../remote/reflection-client.js";
import { remoteFailure } from "../remote/remote-failure.js";
import { remoteArgOptions, remoteOptionsHelp } from "../remote/remote-options.js";
import type { RemoteSession } from "../remote/remote-session.js";
import { findMethod, findService, splitMethodName } from "../remote/resolve-method.js";
import { withRemoteSession } from "../remote/with-remote-session.js";
import type { Verb } from "../verb.js";

/** `protomesh call <url> <package.Service/Method> [-d …]`: a reflection-driven client. */
export const callVerb: Verb = {
  name: "call",
  help: `usage: protomesh call <url> <package.Service/Method> [-d JSON | -d @file | -d @-]

Calls a method of a server that serves grpc.reflection.v1 (every protomesh server does): the
request is JSON in the proto3 JSON mapping, the response printed as JSON. Unary responses are
indented; a server stream prints one JSON message a line. For a client or bidi stream, -d is a
JSON array of the messages to send. A non-OK status prints its code, message and details on
stderr and exits 1.

  -d, --data D      the request: inline JSON, @file, or @- for standard input (default {})
${remoteOptionsHelp}
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs(
      "call",
      args,
      { ...remoteArgOptions, data: { type: "string", short: "d" } },
      { min: 2, max: 2 },
    );
    const [url = "", target = ""] = parsed.positionals;
    const name = splitMethodName("call", target);
    const data = await readDataArgument("call", stringOption(parsed, "data"), io);
    const json = parseJsonInput(data.text, data.source);
    await withRemoteSession("call", parsed, url, async (session) => {
      const registry = await createReflectionClient(session).registryFor(name.service);
      const method = findMethod(
        findService(registry, name.service, session.options.url.href),
        name.method,
      );
      const streamsIn =
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
      const inputs = streamsIn ? (Array.isArray(json) ? json : [json]) : [json];
      const requests = inputs.map((value, i) =>
        toRequest(
          method.input,
          value as JsonValue,
          inputs.length > 1 ? `${data.source}[${i}]` : data.source,
          registry,
        ),
      );
      try {
        await invoke(session, method, requests, registry, io);
      } catch (error) {
        throw remoteFailure(error, session, registry);
      }
    });
    return 0;
  },
};

function toRequest(
  schema: DescMessage,
  value: JsonValue,
  source: string,
  registry: FileRegistry,
): Message {
  try {
    return fromJson(schema, value, { registry });
  } catch (error) {
    throw new CliError(`${source} is not a valid ${schema.typeName}: ${(error as Error).message}`, {
      exitCode: 2,
    });
  }
}

async function invoke(
  session: RemoteSession,
  method: DescMethod,
  requests: Message[],
  registry: FileRegistry,
  io: CliIo,
): Promise<void> {
  const transport: Transport = session.transport;
  const print = (message: Message, indent: boolean) =>
    io.out(
      `${toJsonString(method.output, message, { registry, ...(indent ? { prettySpaces: 2 } : {}) })}\n`,
    );
  if (method.methodKind === "unary") {
    const response = await transport.unary(
      method as DescMethodUnary,
      session.signal,
      session.options.timeoutMs,
      session.headers,
      requests[0] ?? create(method.input),
      undefined,
    );
    print(response.message as Message, true);
    return;
  }
  const response = await transport.stream(
    method as DescMethodStreaming,
    session.signal,
    session.options.timeoutMs,
    session.headers,
    fromArray(requests),
    undefined,
  );
  for await (const message of response.message) print(message as Message, false);
}

async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}
