import type { Code } from "@connectrpc/connect";
import type { Logger } from "pino";
import { grpcCodeName } from "./grpc-code-name.js";
import type { MethodMetrics, ServerMetrics } from "./server-metrics.js";

/** What is known of an inbound call when it starts. */
export interface CallStart {
  /** Fully-qualified service name, e.g. "acme.order.v1.OrderService". */
  readonly service: string;
  /** Method name as in the proto, e.g. "GetOrder". */
  readonly method: string;
  /** "grpc", "grpc-web" or "connect". */
  readonly protocol: string;
  /** The caller's address, "ip:port". */
  readonly peer: string;
  readonly correlationId: string;
}

/** One call being observed; `end` is called exactly once with its final status (0 = OK). */
export interface ObservedCall {
  end(code: Code | 0): void;
}

/**
 * The server concerns that watch every call — RED metrics and the access log — written once
 * and driven by every engine (the lean gRPC engine calls it directly, connect-node through an
 * interceptor), so a call is counted and logged the same way whichever engine served it.
 */
export interface CallObserver {
  begin(call: CallStart): ObservedCall;
}

export interface CallObserverOptions {
  /** RED metrics; none when omitted. */
  readonly metrics?: ServerMetrics | undefined;
  /** The access log: one `info` line per call. None when omitted. */
  readonly logger?: Logger | undefined;
}

/** Builds the observer both engines share. */
export function createCallObserver(options: CallObserverOptions): CallObserver {
  const { metrics, logger } = options;
  // Resolved once per method and protocol: per call only a Map hit. A pino child per method
  // serialises `method` and `protocol` once, so each line formats only what changes.
  const perMethod = new Map<string, MethodHandles>();
  const handles = (call: CallStart): MethodHandles => {
    const key = `${call.protocol} ${call.service}/${call.method}`;
    let found = perMethod.get(key);
    if (!found) {
      found = {
        metrics: metrics?.forMethod(call.service, call.method),
        log: logger?.child({ method: `/${call.service}/${call.method}`, protocol: call.protocol }),
      };
      perMethod.set(key, found);
    }
    return found;
  };
  return {
    begin(call) {
      const { metrics: methodMetrics, log } = handles(call);
      methodMetrics?.started();
      return new ObservedServerCall(call, methodMetrics, log);
    },
  };
}

/** A class, not a closure: one small object per call, its method shared on the prototype. */
class ObservedServerCall implements ObservedCall {
  readonly #started = performance.now();
  #ended = false;

  constructor(
    private readonly call: CallStart,
    private readonly metrics: MethodMetrics | undefined,
    private readonly log: Logger | undefined,
  ) {}

  end(code: Code | 0): void {
    if (this.#ended) return;
    this.#ended = true;
    const elapsedMs = performance.now() - this.#started;
    const codeName = grpcCodeName(code);
    this.metrics?.handled(codeName, elapsedMs / 1000);
    this.log?.info(
      {
        code: codeName,
        durationMs: Math.round(elapsedMs * 1000) / 1000,
        correlationId: this.call.correlationId,
        peer: this.call.peer,
      },
      "call",
    );
  }
}

interface MethodHandles {
  readonly metrics: MethodMetrics | undefined;
  readonly log: Logger | undefined;
}
