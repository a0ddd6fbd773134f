import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { Context as TraceContext } from "@opentelemetry/api";
import type { CallContext, Principal } from "../../context/index.js";
import { correlationIdHeader } from "../../observe/index.js";

/**
 * Connect's `HandlerContext` for the lean gRPC engine, with every costly member built only when
 * a handler reads it: the `AbortSignal` (no AbortController per call unless asked for, never an
 * `abort()` without a reason), the web `Headers` of request, response and trailers, the context
 * values and the URL. A handler that reads none of them costs one small object per call. The
 * same object is the call's `CallContext` (correlation id, deadline, signal), so outbound calls
 * inherit from it with no second object per call.
 */
export class LeanHandlerContext implements HandlerContext, CallContext {
  readonly requestMethod = "POST";
  /** Set by the auth check before the handler runs (see `withAuth`). */
  principal: Principal | undefined = undefined;
  /** The inbound call's trace context, when a tracer provider is registered. */
  trace: TraceContext | undefined = undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  constructor(
    readonly method: DescMethod,
    readonly service: DescService,
    private readonly headers: IncomingHttpHeaders,
    /** Absolute deadline on the `Date.now()` scale, if the caller set one. */
    readonly deadline: number | undefined,
    /** "grpc" or "connect". */
    readonly protocolName: string,
    /** The inbound call's correlation id, inherited by outbound calls. */
    readonly correlationId: string,
    /** The verified client certificate's identity, resolved once per connection. */
    readonly peerIdentity: string | undefined,
  ) {}

  /** One request header's value, read from the raw HTTP/2 headers (no web `Headers` built). */
  requestHeaderValue(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) {
        this.#abortReason ??= new ConnectError("the call has completed", Code.Canceled);
        this.#controller.abort(this.#abortReason);
      }
    }
    return this.#controller.signal;
  }

  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  get requestHeader(): Headers {
    if (!this.#requestHeader) {
      const header = new Headers();
      for (const [name, value] of Object.entries(this.headers)) {
        if (name.startsWith(":") || value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) header.append(name, v);
        else header.set(name, value);
      }
      this.#requestHeader = header;
    }
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    this.#responseHeader ??= new Headers();
    return this.#responseHeader;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= new Headers();
    return this.#responseTrailer;
  }

  get values(): ContextValues {
    this.#values ??= createContextValues();
    return this.#values;
  }

  get url(): string {
    return `http://${this.headers[":authority"] ?? "localhost"}${this.headers[":path"] ?? "/"}`;
  }

  /** Ends the call for the handler: its signal (now or when first read) is aborted with `reason`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** The call completed successfully: a signal already handed out aborts, none is made. */
  completed(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    if (this.#controller) {
      this.#abortReason = new ConnectError("the call has completed", Code.Canceled);
      this.#controller.abort(this.#abortReason);
    }
  }

  /**
   * Appends what the handler set in `responseHeader` (if it touched it) to raw name/value
   * pairs, leaving out the correlation id, which the engine sets itself.
   */
  appendResponseHeader(target: string[]): void {
    if (!this.#responseHeader) return;
    for (const [name, value] of this.#responseHeader) {
      if (name !== correlationIdHeader) target.push(name, value);
    }
  }

  /** Appends the handler's `responseTrailer` (if it touched it) to raw pairs, names prefixed. */
  appendResponseTrailer(target: string[], prefix: string): void {
    if (!this.#responseTrailer) return;
    for (const [name, value] of this.#responseTrailer) target.push(prefix + name, value);
  }

  /** The handler read `responseTrailer` (so may have set trailers). */
  get hasResponseTrailer(): boolean {
    return this.#responseTrailer !== undefined;
  }

  /** Copies what the handler set in `responseTrailer` (if it touched it) into `target`. */
  copyResponseTrailer(target: OutgoingHttpHeaders): void {
    if (this.#responseTrailer) copyHeaders(this.#responseTrailer, target);
  }
}

function copyHeaders(source: Headers, target: OutgoingHttpHeaders): void {
  for (const [name, value] of source) target[name] = value;
}
