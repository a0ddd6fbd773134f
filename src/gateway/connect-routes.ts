import type {
  DescMethod,
  DescMethodServerStreaming,
  DescMethodUnary,
  Message,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { MethodCheck } from "../auth/index.js";
import type { CallObserver } from "../observe/index.js";
import { correlationIdFrom, correlationIdHeader } from "../observe/index.js";
import { forwardFromHeaders } from "./forward-headers.js";
import { describeGatewaySpan, streamUpstream, unaryUpstream } from "./gateway-span.js";

/** The caller's address ("ip:port"), set per request for the access log. */
export const peerKey = createContextKey<string>("unknown", { description: "gateway peer" });

export interface ConnectRoutesOptions {
  /** The public methods, each with the resilient transport of its upstream. */
  readonly methods: readonly {
    readonly method: DescMethod;
    readonly upstream: Transport;
    /** The edge auth check; undefined when none. */
    readonly check: MethodCheck | undefined;
  }[];
  readonly observer: CallObserver;
  readonly forwardedHeaders: readonly string[];
  readonly maxTimeoutMs: number;
  readonly maxRequestBytes: number;
}

/**
 * The Connect (JSON, binary, GET) and gRPC-Web handlers of the public methods, by request
 * path, built by connect-es's router: each forwards its call upstream through the resilient
 * client. A method not listed (internal) has no handler and answers like an unknown path.
 */
export function createConnectRoutes(options: ConnectRoutesOptions): Map<string, UniversalHandler> {
  const router = createConnectRouter({
    grpc: false,
    grpcWeb: true,
    connect: true,
    readMaxBytes: options.maxRequestBytes,
  });
  for (const { method, upstream, check } of options.methods) {
    const forward = new Forwarder(method, upstream, check, options);
    if (method.methodKind === "unary") {
      router.rpc(method as DescMethodUnary, (req: Message, ctx: HandlerContext) =>
        forward.unary(req, ctx),
      );
    } else if (method.methodKind === "server_streaming") {
      router.rpc(method as DescMethodServerStreaming, (req: Message, ctx: HandlerContext) =>
        forward.stream(req, ctx),
      );
    }
  }
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  return paths;
}

/** One method's forwarding, built once (no closure per call). */
class Forwarder {
  constructor(
    private readonly method: DescMethod,
    private readonly upstream: Transport,
    private readonly check: MethodCheck | undefined,
    private readonly options: ConnectRoutesOptions,
  ) {}

  private begin(ctx: HandlerContext) {
    const id = correlationIdFrom(
      ctx.requestHeader.get(correlationIdHeader),
      ctx.requestHeader.get("traceparent"),
    );
    ctx.responseHeader.set(correlationIdHeader, id);
    const protocol = ctx.protocolName === "connect" ? "connect" : "grpc-web";
    const observed = this.options.observer
      .forMethod(this.method.parent.typeName, this.method.name, protocol)
      .begin(ctx.values.get(peerKey), id, ctx.requestHeader);
    describeGatewaySpan(observed, protocol, ctx.requestMethod);
    const header = forwardFromHeaders(ctx.requestHeader, this.options.forwardedHeaders, id);
    const asked = ctx.timeoutMs();
    const timeoutMs = asked === undefined ? undefined : Math.min(asked, this.options.maxTimeoutMs);
    return { observed, header, timeoutMs, id };
  }

  async unary(req: Message, ctx: HandlerContext): Promise<Message> {
    const { observed, header, timeoutMs, id } = this.begin(ctx);
    try {
      if (this.check)
        await this.check(ctx.requestHeader.get("authorization") ?? undefined, undefined);
      const res = await unaryUpstream(
        observed,
        id,
        this.upstream,
        this.method as DescMethodUnary,
        ctx.signal,
        timeoutMs,
        header,
        req,
      );
      copyPublic(res.header, ctx.responseHeader);
      copyPublic(res.trailer, ctx.responseTrailer);
      observed.end(0);
      return res.message as Message;
    } catch (error) {
      const e = ConnectError.from(error);
      observed.end(ctx.signal.aborted ? Code.Canceled : e.code);
      throw e;
    }
  }

  async *stream(req: Message, ctx: HandlerContext): AsyncGenerator<Message> {
    const { observed, header, timeoutMs, id } = this.begin(ctx);
    let code: Code | 0 = Code.Canceled;
    try {
      if (this.check)
        await this.check(ctx.requestHeader.get("authorization") ?? undefined, undefined);
      const res = await streamUpstream(
        observed,
        id,
        this.upstream,
        this.method as DescMethodServerStreaming,
        ctx.signal,
        timeoutMs,
        header,
        one(req),
      );
      copyPublic(res.header, ctx.responseHeader);
      for await (const m of res.message) yield m as Message;
      copyPublic(res.trailer, ctx.responseTrailer);
      code = 0;
    } catch (error) {
      const e = ConnectError.from(error);
      code = ctx.signal.aborted ? Code.Canceled : e.code;
      throw e;
    } finally {
      observed.end(code);
    }
  }
}

// Upstream metadata that stays inside: protomesh's own keys and the protocols' own headers.
function copyPublic(from: Headers, to: Headers): void {
  from.forEach((value, key) => {
    if (key.startsWith("x-protomesh-") || key.startsWith("grpc-") || key === "content-type") return;
    to.set(key, value);
  });
}

async function* one(message: Message): AsyncIterable<Message> {
  yield message;
}
