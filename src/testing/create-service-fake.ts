import type { DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createRouterTransport,
  type HandlerContext,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";

/**
 * A failure to inject into one method of a fake. With `code`, the call fails with it; with
 * `delayMs` alone, the call is answered late (cut short by the caller's deadline or
 * cancellation, as a real server's would be). With `times`, only the first N calls from now
 * on are affected, and later calls answer normally: "fail twice, then succeed".
 */
export interface FakeFailure {
  /** Fail with this code. Default: do not fail (only delay). */
  readonly code?: Code;
  /** The error's message. Default: `injected <Code>`. */
  readonly message?: string;
  /** Wait this long before answering or failing. Default 0. */
  readonly delayMs?: number;
  /** Affect only this many calls, then answer normally. Default: every call. */
  readonly times?: number;
}

type MethodOf<
  S extends DescService,
  K extends keyof S["method"],
> = S["method"][K] extends DescMethod ? S["method"][K] : never;

/** One call the fake received. */
export interface FakeCall<S extends DescService, K extends keyof S["method"] = keyof S["method"]> {
  /** The method's local name, e.g. `reserve`. */
  readonly method: K;
  /**
   * The request message; `undefined` for client and bidi streaming, whose messages are in
   * `requests`.
   */
  readonly request: MessageShape<MethodOf<S, K>["input"]> | undefined;
  /**
   * Every request message received, in order: the one request of a unary or server-streaming
   * call; for client and bidi streaming, each message as the method reads it.
   */
  readonly requests: readonly MessageShape<MethodOf<S, K>["input"]>[];
  /** The request headers as the server saw them (a copy). */
  readonly headers: Headers;
}

/** Options of `createServiceFake`. */
export interface ServiceFakeOptions<S extends DescService> {
  /** The methods the test needs; every other method answers Unimplemented. Default none. */
  readonly implementation?: Partial<ServiceImpl<S>>;
  /** Failures per method (by local name), as if `inject` were called for each. */
  readonly failures?: { readonly [K in keyof S["method"]]?: FakeFailure };
}

/**
 * A stand-in for a service in a consumer's tests, with no network: a Connect router
 * transport whose calls run in-process. Hand `transport` to the generated client factory (or
 * `createClient`) and the consumer's own policies — deadline, retries, breaker, fallbacks —
 * run against it exactly as against a real server.
 */
export interface ServiceFake<S extends DescService> {
  readonly service: S;
  /** The transport that reaches the fake. */
  readonly transport: Transport;
  /** Every call received, in order, including failed and unimplemented ones. */
  readonly calls: readonly FakeCall<S>[];
  /** The calls to one method. */
  callsTo<K extends keyof S["method"]>(method: K): readonly FakeCall<S, K>[];
  /** Sets (or with `undefined`, clears) the failure injected into one method. */
  inject(method: keyof S["method"], failure: FakeFailure | undefined): void;
  /** Forgets the calls received so far. */
  clearCalls(): void;
}

interface ActiveFailure {
  readonly failure: FakeFailure;
  remaining: number;
}

/**
 * A fake of `service` built on Connect's `createRouterTransport`: supply only the methods a
 * test needs; the others answer Unimplemented. Every call is recorded with its request and
 * headers, and failures (a code, a delay, the first N calls) can be injected per method.
 * The generated `create<Service>Fake` functions are typed shortcuts to this.
 */
export function createServiceFake<S extends DescService>(
  service: S,
  options: ServiceFakeOptions<S> = {},
): ServiceFake<S> {
  const calls: FakeCall<S>[] = [];
  const failures = new Map<string, ActiveFailure>();
  const given = (options.implementation ?? {}) as Record<string, unknown>;

  const inject = (method: keyof S["method"], failure: FakeFailure | undefined) => {
    const name = String(method);
    if (!service.methods.some((m) => m.localName === name))
      throw new Error(`${service.typeName} has no method ${name}`);
    if (failure === undefined) failures.delete(name);
    else failures.set(name, { failure, remaining: failure.times ?? Number.POSITIVE_INFINITY });
  };
  for (const [name, failure] of Object.entries(options.failures ?? {}) as [
    string,
    FakeFailure | undefined,
  ][]) {
    inject(name, failure);
  }

  /** Records the call, then waits and fails as injected. */
  async function arrive(
    method: DescMethod,
    request: unknown,
    requests: unknown[],
    context: HandlerContext,
  ) {
    calls.push({
      method: method.localName,
      request,
      requests,
      headers: new Headers(context.requestHeader),
    } as FakeCall<S>);
    const active = failures.get(method.localName);
    if (!active || active.remaining <= 0) return;
    active.remaining -= 1;
    const { code, message, delayMs } = active.failure;
    if (delayMs) await sleep(delayMs, context.signal);
    if (code !== undefined) throw new ConnectError(message ?? `injected ${Code[code]}`, code);
  }

  function implementationOf(method: DescMethod): (...args: never[]) => unknown {
    const fn = given[method.localName];
    if (typeof fn === "function") return fn as (...args: never[]) => unknown;
    return () => {
      throw new ConnectError(
        `${service.typeName}.${method.name} is not implemented by this fake`,
        Code.Unimplemented,
      );
    };
  }

  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const fn = implementationOf(method) as (input: unknown, context: HandlerContext) => unknown;
    switch (method.methodKind) {
      case "unary":
        impl[method.localName] = async (input: unknown, context: HandlerContext) => {
          await arrive(method, input, [input], context);
          return fn(input, context);
        };
        break;
      case "server_streaming":
        impl[method.localName] = async function* (input: unknown, context: HandlerContext) {
          await arrive(method, input, [input], context);
          yield* fn(input, context) as AsyncIterable<unknown>;
        };
        break;
      case "client_streaming":
        impl[method.localName] = async (input: AsyncIterable<unknown>, context: HandlerContext) => {
          const requests: unknown[] = [];
          await arrive(method, undefined, requests, context);
          return fn(recorded(input, requests), context);
        };
        break;
      case "bidi_streaming":
        impl[method.localName] = async function* (
          input: AsyncIterable<unknown>,
          context: HandlerContext,
        ) {
          const requests: unknown[] = [];
          await arrive(method, undefined, requests, context);
          yield* fn(recorded(input, requests), context) as AsyncIterable<unknown>;
        };
        break;
    }
  }

  const transport = createRouterTransport((router) => {
    router.service(service, impl as ServiceImpl<S>);
  });

  return {
    service,
    transport,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method) as FakeCall<S, never>[],
    inject,
    clearCalls: () => {
      calls.length = 0;
    },
  };
}

/** Passes a request stream through, keeping each message in `into` as it is read. */
async function* recorded<T>(input: AsyncIterable<T>, into: T[]): AsyncIterable<T> {
  for await (const message of input) {
    into.push(message);
    yield message;
  }
}

/** Waits `ms`, or rejects as the call is cancelled (its deadline, or the caller's abort). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(ConnectError.from(signal.reason));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
