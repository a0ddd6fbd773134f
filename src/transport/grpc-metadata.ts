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

/** Headers' methods, declared as methods: the DOM typings declare them as properties. */
interface HeadersMethods {
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}
const HeadersBase = Headers as unknown as new () => HeadersMethods;

/**
 * Web `Headers` filled from grpc-js `Metadata` only when first used (a real `Headers`
 * subclass). Most callers never read a unary response's headers or trailers, and converting
 * them up front (base64 for `-bin`, undici validating every value) cost ≈ 1 µs of every call
 * on the client's hot path.
 */
class MetadataHeaders extends HeadersBase {
  #pending: Metadata | undefined;

  constructor(metadata: Metadata) {
    super();
    this.#pending = metadata;
  }

  #fill(): void {
    const metadata = this.#pending;
    if (metadata === undefined) return;
    this.#pending = undefined;
    headersFromMetadata(metadata, this as unknown as Headers);
  }

  override append(name: string, value: string): void {
    this.#fill();
    super.append(name, value);
  }

  override delete(name: string): void {
    this.#fill();
    super.delete(name);
  }

  override get(name: string): string | null {
    this.#fill();
    return super.get(name);
  }

  override getSetCookie(): string[] {
    this.#fill();
    return super.getSetCookie();
  }

  override has(name: string): boolean {
    this.#fill();
    return super.has(name);
  }

  override set(name: string, value: string): void {
    this.#fill();
    super.set(name, value);
  }

  override forEach(
    callback: (value: string, key: string, parent: Headers) => void,
    thisArg?: unknown,
  ): void {
    this.#fill();
    super.forEach(callback, thisArg);
  }

  override entries(): IterableIterator<[string, string]> {
    this.#fill();
    return super.entries();
  }

  override keys(): IterableIterator<string> {
    this.#fill();
    return super.keys();
  }

  override values(): IterableIterator<string> {
    this.#fill();
    return super.values();
  }

  override [Symbol.iterator](): IterableIterator<[string, string]> {
    this.#fill();
    return super[Symbol.iterator]();
  }
}

/** grpc-js `Metadata` as web `Headers`, converted only if someone reads them. */
export function lazyHeadersFromMetadata(metadata: Metadata): Headers {
  return new MetadataHeaders(metadata) as unknown as Headers;
}
