import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { decodeGrpcMessage } from "./grpc-message.js";

const grpcMessage = "grpc-message";

/**
 * Wraps a Connect HTTP client so a gRPC response's `grpc-message` is decoded as gRPC's spec
 * says. Connect's gRPC transport decodes it with decodeURIComponent, which throws a URIError on
 * a malformed escape ("100%", "%E9"): the call then fails with a code and message that are not
 * the server's. Here the value is decoded by `decodeGrpcMessage` (never throws, keeps a
 * malformed escape as sent) and handed to Connect re-encoded with encodeURIComponent, which
 * Connect's decodeURIComponent reads back to exactly that text. Response headers
 * (trailers-only) are rewritten before Connect reads them, trailers once the body has ended,
 * which is when Connect reads them and after node has filled them in.
 */
export function withSpecGrpcMessageDecoding(httpClient: UniversalClientFn): UniversalClientFn {
  return async (request) => {
    const response = await httpClient(request);
    reencode(response.header);
    const { body, trailer } = response;
    return {
      ...response,
      body: {
        [Symbol.asyncIterator]() {
          const it = body[Symbol.asyncIterator]();
          return {
            async next() {
              const result = await it.next();
              if (result.done === true) reencode(trailer);
              return result;
            },
            return: (value?: unknown) =>
              it.return?.(value) ?? Promise.resolve({ done: true, value }),
            throw: (error?: unknown) => it.throw?.(error) ?? Promise.reject(error),
          };
        },
      },
    };
  };
}

function reencode(headers: Headers): void {
  const value = headers.get(grpcMessage);
  if (value !== null) headers.set(grpcMessage, encodeURIComponent(decodeGrpcMessage(value)));
}
