import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { CallObserver, ObservedCall } from "../../observe/index.js";
import { correlationIdFromHeaders } from "../../observe/index.js";
import { correlationIdKey, observedCallKey } from "../with-call-context.js";

/** The caller's address, set per request by the adapter's `contextValues`. */
export const peerKey = createContextKey<string>("unknown", { description: "peer address" });

/**
 * Runs the shared call observer (metrics, access log) for calls connect-node serves, so they
 * are counted exactly as the lean gRPC engine counts its own. Calls connect-node refuses before
 * routing (unknown path, bad content-type) never reach an interceptor and are not counted.
 */
export function createObserveInterceptor(observer: CallObserver): Interceptor {
  return (next) => async (request) => {
    const correlationId = correlationIdFromHeaders(request.header);
    request.contextValues.set(correlationIdKey, correlationId);
    const observed = observer
      .forMethod(
        request.service.typeName,
        request.method.name,
        protocolOf(request.header.get("content-type")),
      )
      .begin(request.contextValues.get(peerKey), correlationId, request.header);
    request.contextValues.set(observedCallKey, observed);
    try {
      const response = await next(request);
      if (!response.stream) {
        observed.end(0);
        return response;
      }
      return { ...response, message: observeStream(response.message, observed) };
    } catch (error) {
      observed.end(codeOf(error));
      throw error;
    }
  };
}

async function* observeStream<T>(source: AsyncIterable<T>, observed: ObservedCall) {
  let code: Code | 0 = Code.Canceled;
  try {
    yield* source;
    code = 0;
  } catch (error) {
    code = codeOf(error);
    throw error;
  } finally {
    observed.end(code);
  }
}

function codeOf(error: unknown): Code {
  return ConnectError.from(error).code;
}

function protocolOf(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}
