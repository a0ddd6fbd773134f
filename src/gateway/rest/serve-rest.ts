import type { ServerResponse } from "node:http";
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type JsonReadOptions,
  type JsonValue,
  type JsonWriteOptions,
  type Message,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { MethodCheck } from "../../auth/index.js";
import type { HttpRoute } from "../../contract/http-rule/index.js";
import type { MethodObserver } from "../../observe/index.js";
import { forwardFromNode } from "../forward-headers.js";
import {
  GatewayFailure,
  type NodeRequest,
  type NodeResponse,
  sendStatusJson,
} from "../gateway-failure.js";
import {
  describeGatewaySpan,
  endRestCall,
  streamUpstream,
  unaryUpstream,
} from "../gateway-span.js";
import { requestTimeoutMs } from "../request-timeout.js";
import { statusJson } from "../status-json.js";
import { type QueryFieldCache, readRestRequest } from "./read-rest-request.js";
import type { RouteMatch } from "./route-table.js";

/** What every REST call of one gateway shares, built once. */
export interface RestContext {
  /** The method's auth check at the edge; undefined when none. */
  readonly checkOf: (route: HttpRoute) => MethodCheck | undefined;
  readonly upstreamOf: (route: HttpRoute) => Transport;
  readonly observerOf: (route: HttpRoute) => MethodObserver;
  readonly forwardedHeaders: readonly string[];
  readonly maxRequestBytes: number;
  readonly maxTimeoutMs: number;
  readonly jsonRead: Partial<JsonReadOptions>;
  readonly jsonWrite: Partial<JsonWriteOptions>;
  readonly registry: Registry | undefined;
  readonly queryFields: QueryFieldCache;
}

const jsonType = /^application\/json(\s*;\s*charset=utf-?8)?\s*$/i;

/**
 * Serves one REST call: reads the body (size-capped), builds the request message from body,
 * query and path, calls the method upstream through the resilient client, and answers with
 * the response as JSON (or NDJSON for a server stream), errors as `google.rpc.Status`.
 */
export async function serveRest(
  request: NodeRequest,
  response: NodeResponse,
  match: RouteMatch,
  query: string,
  requestId: string,
  ctx: RestContext,
): Promise<void> {
  const { route } = match;
  const observed = ctx.observerOf(route).begin(peerOf(request), requestId, request.headers);
  describeGatewaySpan(observed, "rest", request.method, route);
  const abort = new AbortController();
  const onClose = () => {
    if (!response.writableFinished) abort.abort();
  };
  response.once("close", onClose);
  try {
    const check = ctx.checkOf(route);
    if (check) await check(headerValue(request.headers.authorization), undefined);
    const body =
      route.body.kind === "none" ? undefined : await readBody(request, ctx.maxRequestBytes);
    const input = readRestRequest(match, query, body, ctx.queryFields, ctx.jsonRead);
    const timeoutMs = requestTimeoutMs(request.headers, ctx.maxTimeoutMs);
    const header = forwardFromNode(request.headers, ctx.forwardedHeaders, requestId);
    const upstream = ctx.upstreamOf(route);
    const method = route.method;
    if (method.methodKind === "unary") {
      const res = await unaryUpstream(
        observed,
        requestId,
        upstream,
        method as DescMethodUnary,
        abort.signal,
        timeoutMs,
        header,
        input,
      );
      response.statusCode = 200;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(responseJson(route, res.message as Message, ctx)));
    } else if (method.methodKind === "server_streaming") {
      const res = await streamUpstream(
        observed,
        requestId,
        upstream,
        method as DescMethodServerStreaming,
        abort.signal,
        timeoutMs,
        header,
        one(input),
      );
      await streamNdjson(response, res.message as AsyncIterable<Message>, route, ctx);
    }
    endRestCall(observed, 0, response);
  } catch (error) {
    const e = ConnectError.from(error);
    try {
      if (!abort.signal.aborted) sendStatusJson(response, e, ctx.registry);
    } finally {
      endRestCall(observed, abort.signal.aborted ? Code.Canceled : e.code, response);
    }
  } finally {
    response.off("close", onClose);
  }
}

async function streamNdjson(
  response: NodeResponse,
  messages: AsyncIterable<Message>,
  route: HttpRoute,
  ctx: RestContext,
): Promise<void> {
  try {
    for await (const m of messages) {
      if (!response.headersSent) {
        response.statusCode = 200;
        response.setHeader("content-type", "application/x-ndjson");
      }
      (response as ServerResponse).write(`${JSON.stringify(responseJson(route, m, ctx))}\n`);
    }
  } catch (error) {
    if (!response.headersSent) throw error;
    // After the first message the status is sent: the error is the stream's last line.
    const e = ConnectError.from(error);
    response.end(`${JSON.stringify({ error: statusJson(e, ctx.registry) })}\n`);
    throw e;
  }
  if (!response.headersSent) {
    response.statusCode = 200;
    response.setHeader("content-type", "application/x-ndjson");
  }
  response.end();
}

function responseJson(route: HttpRoute, message: Message, ctx: RestContext): JsonValue {
  const output = route.method.output;
  const field = route.responseBody;
  if (!field) return toJson(output, message, ctx.jsonWrite);
  const value = (message as unknown as Record<string, unknown>)[field.localName];
  if (field.fieldKind === "message") {
    return toJson(
      field.message,
      (value as Message | undefined) ?? create(field.message),
      ctx.jsonWrite,
    );
  }
  const whole = toJson(output as DescMessage, message, {
    ...ctx.jsonWrite,
    alwaysEmitImplicit: true,
  });
  return (whole as Record<string, JsonValue>)[(field as DescField).jsonName] ?? null;
}

/** Reads the body up to `limit` bytes: 415 for a body that is not JSON, 413 beyond the limit. */
function readBody(request: NodeRequest, limit: number): Promise<Buffer | undefined> {
  const length = request.headers["content-length"];
  const chunked = request.headers["transfer-encoding"] !== undefined;
  if ((length === undefined || length === "0") && !chunked && request.httpVersionMajor < 2) {
    return Promise.resolve(undefined);
  }
  const type = request.headers["content-type"];
  if (length !== "0" && (type === undefined || !jsonType.test(type))) {
    request.resume();
    return Promise.reject(
      new GatewayFailure(
        415,
        `unsupported content type "${type ?? ""}": send application/json`,
        Code.InvalidArgument,
      ),
    );
  }
  if (length !== undefined && Number(length) > limit) {
    request.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.once("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    request.once("error", (e) =>
      reject(new ConnectError("request body aborted", Code.Canceled, undefined, undefined, e)),
    );
  });
}

function tooLarge(limit: number): GatewayFailure {
  return new GatewayFailure(413, `request body larger than ${limit} bytes`, Code.ResourceExhausted);
}

async function* one(message: Message): AsyncIterable<Message> {
  yield message;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function peerOf(request: NodeRequest): string {
  const s = request.socket;
  return `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`;
}
