import type { DescMethod } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { type CallContext, runWithCallContext } from "../context/index.js";
import {
  correlationIdFromHeaders,
  correlationIdHeader,
  type ObservedCall,
} from "../observe/index.js";
import type { ServiceRegistration } from "./service-registration.js";

type AnyHandler = (input: unknown, context: HandlerContext) => unknown;

/**
 * The correlation id an engine already chose for the call (so its access log and the handler
 * agree); `withCallContext` picks one from the headers when no engine did.
 */
export const correlationIdKey = createContextKey<string | undefined>(undefined, {
  description: "correlation id",
});

/** The verified client certificate's identity, set by the engine that knows the connection. */
export const peerIdentityKey = createContextKey<string | undefined>(undefined, {
  description: "peer identity",
});

/** The engine's observed call, which the call context is attached to (trace, access log). */
export const observedCallKey = createContextKey<ObservedCall | undefined>(undefined, {
  description: "observed call",
});

/**
 * Wraps every method of a service so its handler runs inside the inbound call's `CallContext`
 * (correlation id, deadline, cancellation, peer identity, trace). Wrapping the implementation rather than an engine
 * keeps the concern in one place whichever engine serves the bytes; outbound clients read the
 * context to inherit the deadline and correlation id.
 */
export function withCallContext(registration: ServiceRegistration): ServiceRegistration {
  const { service, impl } = registration;
  const wrapped: Record<string, AnyHandler> = {};
  for (const method of service.methods) {
    const handler = (impl as Record<string, AnyHandler | undefined>)[method.localName];
    if (handler) wrapped[method.localName] = wrapHandler(method, handler.bind(impl));
  }
  // Same method names and signatures as the implementation it wraps.
  return { service, impl: wrapped as unknown as ServiceRegistration["impl"] };
}

function wrapHandler(method: DescMethod, handler: AnyHandler): AnyHandler {
  const streamsOut =
    method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return (input, handlerContext) => {
    const context = callContextOf(handlerContext);
    const result = runWithCallContext(context, () => handler(input, handlerContext));
    return streamsOut ? inContext(context, result as AsyncIterable<unknown>) : result;
  };
}

function callContextOf(handlerContext: HandlerContext): CallContext {
  // The observe interceptor picked the id already (so logs and handler agree); else pick it here.
  const correlationId =
    handlerContext.values.get(correlationIdKey) ??
    correlationIdFromHeaders(handlerContext.requestHeader);
  handlerContext.responseHeader.set(correlationIdHeader, correlationId);
  const remaining = handlerContext.timeoutMs();
  const context: CallContext = {
    correlationId,
    deadline: remaining === undefined ? undefined : Date.now() + remaining,
    signal: handlerContext.signal,
    peerIdentity: handlerContext.values.get(peerIdentityKey),
    // Filled in by the server concerns: the auth check, the observer's trace.
    principal: undefined,
    trace: undefined,
  };
  handlerContext.values.get(observedCallKey)?.attach(context);
  return context;
}

/**
 * A streaming handler's body runs on each `next()`, in the caller's async context: step the
 * iterator inside the call context so code after each `yield` still sees it.
 */
function inContext<T>(context: CallContext, source: AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = runWithCallContext(context, () => source[Symbol.asyncIterator]());
      return {
        next: () => runWithCallContext(context, () => it.next()),
        return: (value?: unknown) =>
          runWithCallContext(context, () =>
            it.return
              ? it.return(value)
              : Promise.resolve({ done: true as const, value: value as T }),
          ),
        throw: (error?: unknown) =>
          runWithCallContext(context, () => (it.throw ? it.throw(error) : Promise.reject(error))),
      };
    },
  };
}
