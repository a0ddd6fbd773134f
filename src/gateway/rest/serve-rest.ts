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
import { failureAnswer, GatewayFailure } from "../gateway-failure.js";
import {
  describeGatewaySpan,
  endRestCall,
  streamUpstream,
  unaryUpstream,
} from "../gateway-span.js";
import { requestTimeoutMs } from "../request-timeout.js";
import { statusJson } from "../status-json.js";
import { type QueryFieldCache, readRestRequest } from "./read-rest-request.js";
import type { RestExchange } from "./rest-exchange.js";
import type { RouteMatch } from "./route-table.js";

/** What a REST route needs per call, resolved once at start-up. */
export interface RestRoute {
  /** The method's auth check at the edge; undefined when none. */
  readonly check: MethodCheck | undefined;
  readonly upstream: Transport;
  readonly observer: MethodObserver;
}

/** What every REST call of one gateway shares, built once. */
export interface RestContext {
  readonly routeOf: (route: HttpRoute) => RestRoute;
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
 * the response as JSON (or NDJSON for a server stream), errors as `google.rpc.Status`. The
 * promise never rejects.
 */
export async function serveRest(
  exchange: RestExchange,
  match: RouteMatch,
  query: string,
  requestId: string,
  ctx: RestContext,
): Promise<void> {
  // Never rejects: every failure is answered inside; only a bug reaches the outer catch, and
  // the caller is then dropped rather than left hanging (callers need no `.catch` per call).
  try {
    const { route } = match;
    const { check, upstream, observer } = ctx.routeOf(route);
    const observed = observer.begin(exchange.peer, requestId, exchange.headers);
    describeGatewaySpan(observed, "rest", route.httpMethod, route);
    // Made before anything is awaited, so a caller gone at any point counts as cancelled.
    const signal = exchange.signal;
    try {
      const headers = exchange.headers;
      if (check) await check(headerValue(headers.authorization), undefined);
      let body: Buffer | undefined;
      if (route.body.kind === "none") exchange.discard();
      else body = await readBody(exchange, ctx.maxRequestBytes);
      const input = readRestRequest(match, query, body, ctx.queryFields, ctx.jsonRead);
      const timeoutMs = requestTimeoutMs(headers, ctx.maxTimeoutMs);
      const header = forwardFromNode(headers, ctx.forwardedHeaders, requestId);
      const method = route.method;
      if (method.methodKind === "unary") {
        const res = await unaryUpstream(
          observed,
          requestId,
          upstream,
          method as DescMethodUnary,
          signal,
          timeoutMs,
          header,
          input,
        );
        exchange.send(
          200,
          "application/json",
          JSON.stringify(responseJson(route, res.message as Message, ctx)),
        );
      } else if (method.methodKind === "server_streaming") {
        const res = await streamUpstream(
          observed,
          requestId,
          upstream,
          method as DescMethodServerStreaming,
          signal,
          timeoutMs,
          header,
          one(input),
        );
        await streamNdjson(exchange, res.message as AsyncIterable<Message>, route, ctx);
      }
      endRestCall(observed, 0, exchange);
    } catch (error) {
      const e = ConnectError.from(error);
      const aborted = signal.aborted;
      try {
        if (aborted) return;
        if (exchange.headersSent) exchange.end();
        else {
          const answer = failureAnswer(e, ctx.registry);
          exchange.send(answer.status, "application/json", answer.body, answer.headers);
        }
      } finally {
        endRestCall(observed, aborted ? Code.Canceled : e.code, exchange);
      }
    }
  } catch {
    exchange.destroy();
  }
}

async function streamNdjson(
  exchange: RestExchange,
  messages: AsyncIterable<Message>,
  route: HttpRoute,
  ctx: RestContext,
): Promise<void> {
  try {
    for await (const m of messages) {
      if (!exchange.headersSent) exchange.start(200, "application/x-ndjson");
      // A caller slower than the upstream: take the next message only once it has this one.
      if (!exchange.write(`${JSON.stringify(responseJson(route, m, ctx))}\n`)) {
        await exchange.drained();
        if (exchange.signal.aborted) throw new ConnectError("the caller went away", Code.Canceled);
      }
    }
  } catch (error) {
    if (!exchange.headersSent) throw error;
    // After the first message the status is sent: the error is the stream's last line.
    const e = ConnectError.from(error);
    exchange.end(`${JSON.stringify({ error: statusJson(e, ctx.registry) })}\n`);
    throw e;
  }
  if (!exchange.headersSent) exchange.start(200, "application/x-ndjson");
  exchange.end();
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
async function readBody(exchange: RestExchange, limit: number): Promise<Buffer | undefined> {
  const headers = exchange.headers;
  const length = headers["content-length"];
  const chunked = headers["transfer-encoding"] !== undefined;
  if ((length === undefined || length === "0") && !chunked && exchange.http1) return undefined;
  const type = headers["content-type"];
  if (length !== "0" && (type === undefined || !jsonType.test(type))) {
    exchange.discard();
    throw new GatewayFailure(
      415,
      `unsupported content type "${type ?? ""}": send application/json`,
      Code.InvalidArgument,
    );
  }
  if (length !== undefined && Number(length) > limit) {
    exchange.discard();
    throw tooLarge(limit);
  }
  const body = await exchange.collect(limit);
  if (body === undefined) throw tooLarge(limit);
  return body;
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
