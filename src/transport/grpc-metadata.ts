import { Metadata } from "@grpc/grpc-js";

/**
 * Headers grpc-js writes itself, as client or server (or that are HTTP/2 connection-level):
 * passing them on as metadata would duplicate or contradict what grpc-js sends.
 */
const protocolHeaders = new Set([
  "content-type",
  "content-length",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connection",
  "host",
]);

/**
 * Web `Headers` → grpc-js `Metadata`, for a client's request and a server's response headers and
 * trailers alike. `-bin` values are base64 on the Connect side (several values joined by ", ")
 * and raw bytes in grpc-js, so they are decoded into Buffers. Headers grpc-js writes itself are
 * left out.
 */
export function metadataFromHeaders(header: Headers, into: Metadata = new Metadata()): Metadata {
  header.forEach((value, key) => {
    if (protocolHeaders.has(key)) return;
    if (key.endsWith("-bin")) {
      for (const part of value.split(",")) into.add(key, Buffer.from(part.trim(), "base64"));
    } else {
      into.add(key, value);
    }
  });
  return into;
}

/** grpc-js `Metadata` → web `Headers`, `-bin` values base64-encoded as Connect expects. */
export function headersFromMetadata(metadata: Metadata, into: Headers = new Headers()): Headers {
  const entries = metadata.toJSON();
  for (const key in entries) {
    for (const value of entries[key] ?? []) {
      into.append(key, typeof value === "string" ? value : value.toString("base64"));
    }
  }
  return into;
}

/** Copies grpc-js `Metadata` into web `Headers` (a `FillHeaders` for lazy headers). */
export function fillFromMetadata(metadata: Metadata, into: Headers): void {
  headersFromMetadata(metadata, into);
}
