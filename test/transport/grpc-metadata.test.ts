import { encodeBinaryHeader } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  fillFromMetadata,
  headersFromMetadata,
  metadataFromHeaders,
} from "../../src/transport/grpc-metadata.js";
import { lazyHeaders } from "../../src/transport/lazy-headers.js";

const lazyHeadersFromMetadata = (metadata: Metadata) => lazyHeaders(metadata, fillFromMetadata);

describe("headers ⇄ grpc-js metadata", () => {
  it("decodes -bin values, each of several, into bytes and leaves protocol headers to grpc-js", () => {
    const header = new Headers({
      "x-caller": "billing",
      "content-type": "application/grpc+proto",
      "grpc-timeout": "100m",
      te: "trailers",
    });
    header.append("x-blob-bin", encodeBinaryHeader(new Uint8Array([1, 2])));
    header.append("x-blob-bin", encodeBinaryHeader(new Uint8Array([255])));
    const metadata = metadataFromHeaders(header);
    expect(metadata.toJSON()).toEqual({
      "x-caller": ["billing"],
      "x-blob-bin": [Buffer.from([1, 2]), Buffer.from([255])],
    });
  });

  it("encodes binary metadata in base64 and keeps repeated values", () => {
    const metadata = new Metadata();
    metadata.add("x-tag", "a");
    metadata.add("x-tag", "b");
    metadata.add("x-blob-bin", Buffer.from([0, 254]));
    const header = headersFromMetadata(metadata);
    expect(header.get("x-tag")).toBe("a, b");
    expect(header.get("x-blob-bin")).toBe(Buffer.from([0, 254]).toString("base64"));
  });

  it("converts lazily yet reads, iterates and changes like any Headers", () => {
    const metadata = new Metadata();
    metadata.add("x-tag", "a");
    metadata.add("x-blob-bin", Buffer.from([0, 254]));
    const lazy = lazyHeadersFromMetadata(metadata);
    expect(lazy).toBeInstanceOf(Headers);
    expect([...lazy]).toEqual([...headersFromMetadata(metadata)]);
    expect(lazyHeadersFromMetadata(metadata).get("x-tag")).toBe("a");
    expect(lazyHeadersFromMetadata(metadata).has("x-blob-bin")).toBe(true);
    const changed = lazyHeadersFromMetadata(metadata);
    changed.set("x-protomesh-attempts", "2");
    changed.delete("x-tag");
    expect(Object.fromEntries(changed.entries())).toEqual({
      "x-blob-bin": Buffer.from([0, 254]).toString("base64"),
      "x-protomesh-attempts": "2",
    });
    const seen: string[] = [];
    lazyHeadersFromMetadata(metadata).forEach((_, key) => {
      seen.push(key);
    });
    expect(seen).toEqual(["x-blob-bin", "x-tag"]);
    expect(new Headers(lazyHeadersFromMetadata(metadata)).get("x-tag")).toBe("a");
  });
});
