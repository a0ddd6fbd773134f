import type { UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";

/**
 * gRPC-Web text (`application/grpc-web-text`, base64 on the wire, for browsers that cannot
 * read binary streams), which connect-es does not serve: the request is decoded to binary
 * gRPC-Web before connect-es sees it, and each response chunk is base64-encoded on the way
 * out (each chunk padded on its own, as the gRPC-Web spec allows). Hand-written: no library.
 */
export function isGrpcWebText(contentType: string | undefined): boolean {
  return contentType?.startsWith("application/grpc-web-text") === true;
}

export function grpcWebTextRequest(request: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(request.header);
  const type = header.get("content-type") ?? "";
  header.set("content-type", type.replace("grpc-web-text", "grpc-web"));
  return { ...request, header, body: decodeBase64(request.body as AsyncIterable<Uint8Array>) };
}

export function grpcWebTextResponse(response: UniversalServerResponse): UniversalServerResponse {
  const header = new Headers(response.header);
  const type = header.get("content-type");
  if (type) header.set("content-type", type.replace("grpc-web", "grpc-web-text"));
  const body = response.body;
  return body === undefined
    ? { ...response, header }
    : { ...response, header, body: encodeBase64(body) };
}

async function* decodeBase64(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  // Requests are unary or the one message of a server stream: decoded once, whole (the
  // decoded size is capped by connect-es's readMaxBytes after this).
  let text = "";
  for await (const chunk of chunks) text += Buffer.from(chunk).toString("latin1");
  yield* decodeRuns(text.replace(/\s/g, ""));
}

function* decodeRuns(text: string): Iterable<Uint8Array> {
  // Runs end after padding: "AAA=AAAA" is two runs, which one Buffer.from would misread.
  for (const run of text.match(/[^=]+={0,2}|=+/g) ?? []) {
    if (run.replace(/=/g, "") !== "") yield Buffer.from(run, "base64");
  }
}

async function* encodeBase64(
  chunks: AsyncIterable<Uint8Array> | Uint8Array,
): AsyncIterable<Uint8Array> {
  if (chunks instanceof Uint8Array) {
    yield Buffer.from(Buffer.from(chunks).toString("base64"), "latin1");
    return;
  }
  for await (const chunk of chunks) {
    yield Buffer.from(Buffer.from(chunk).toString("base64"), "latin1");
  }
}
