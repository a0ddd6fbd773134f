import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { decodeGrpcMessage, encodeGrpcMessage } from "../../transport/grpc-message.js";

const grpcMessage = "grpc-message";
// gRPC-Web's trailers travel as the body's last envelope, flagged 0x80 (uncompressed).
const trailerFlag = 0x80;
const trailerLine = /(^|\r\n)grpc-message:[ \t]*([^\r\n]*)/;

/**
 * connect-node's gRPC and gRPC-Web handlers write `grpc-message` with encodeURIComponent, which
 * escapes ':' '/' ',' (grpc-js clients, decoding with decodeURI, then show "%3A" "%2F" "%2C").
 * connect-node has no option for it, so its responses are rewritten here, at the one place the
 * engine hands them to node, to the encoding of gRPC's spec (`encodeGrpcMessage`): in the
 * response header (trailers-only), in the trailers once the body has been sent (gRPC, over
 * HTTP/2 or HTTP/1.1) and in gRPC-Web's trailer envelope. Connect's value is decoded first, so
 * the message is the handler's, exactly. A compressed gRPC-Web trailer envelope (1 KiB or more,
 * to a client accepting compression) is left as Connect wrote it: still a valid percent-encoding,
 * which every spec decoder reads back exactly. Connect-protocol responses carry no
 * `grpc-message` and pass through untouched.
 */
export function withSpecGrpcMessage(response: UniversalServerResponse): UniversalServerResponse {
  const { header, trailer, body } = response;
  if (body === undefined) {
    if (header) respecHeaders(header);
    if (trailer) respecHeaders(trailer);
    return response;
  }
  const grpcWeb = header?.get("content-type")?.startsWith("application/grpc-web") ?? false;
  return {
    ...response,
    body: {
      [Symbol.asyncIterator]() {
        const it = body[Symbol.asyncIterator]();
        return {
          async next() {
            const result = await it.next();
            // connect-node writes the header after the first read, the trailers after the last.
            if (header) respecHeaders(header);
            if (result.done === true) {
              if (trailer) respecHeaders(trailer);
            } else if (grpcWeb && result.value[0] === trailerFlag) {
              return { done: false, value: respecTrailerEnvelope(result.value) };
            }
            return result;
          },
          return: (value?: unknown) => it.return?.(value) ?? Promise.resolve({ done: true, value }),
          throw: (error?: unknown) => it.throw?.(error) ?? Promise.reject(error),
        };
      },
    },
  };
}

function respecHeaders(headers: Headers): void {
  const value = headers.get(grpcMessage);
  if (value !== null) headers.set(grpcMessage, encodeGrpcMessage(decodeGrpcMessage(value)));
}

/** A gRPC-Web trailer envelope with its grpc-message line re-encoded; the rest byte for byte. */
function respecTrailerEnvelope(envelope: Uint8Array): Uint8Array {
  const text = Buffer.from(envelope.buffer, envelope.byteOffset + 5, envelope.length - 5).toString(
    "latin1",
  );
  const match = trailerLine.exec(text);
  if (match === null) return envelope;
  const value = encodeGrpcMessage(decodeGrpcMessage(match[2] ?? ""));
  const line = `${match[1] ?? ""}${grpcMessage}: ${value}`;
  const data = Buffer.from(
    text.replace(trailerLine, () => line),
    "latin1",
  );
  const rewritten = Buffer.allocUnsafe(data.length + 5);
  rewritten[0] = trailerFlag;
  rewritten.writeUInt32BE(data.length, 1);
  data.copy(rewritten, 5);
  return rewritten;
}
