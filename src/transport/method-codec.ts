import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  isMessage,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/** What a grpc-js call needs to know about one method, built once and cached. */
export interface MethodCodec {
  /** The gRPC path, `/package.Service/Method`. */
  readonly path: string;
  /** The value of `url` on requests, for interceptors that log it. */
  readonly url: string;
  /** A message from a message or its init shape (Connect clients pass either). */
  normalize(message: unknown): MessageShape<DescMessage>;
  serialize(message: MessageShape<DescMessage>): Buffer;
  /** The message's bytes as protobuf-es writes them (no Buffer wrapper). */
  encode(message: MessageShape<DescMessage>): Uint8Array;
  deserialize(bytes: Uint8Array): MessageShape<DescMessage>;
  /** Parses bytes that are a plain `Uint8Array` (not a Buffer) as they are, with no new view. */
  decode(bytes: Uint8Array): MessageShape<DescMessage>;
}

/** Codecs per method: a method's descriptor is the key, so cached codecs die with it. */
export type MethodCodecCache = (method: DescMethod) => MethodCodec;

/**
 * A cache of codecs for one transport. `target` starts each method's `url`; `pathPrefix` (a
 * URL target's own path, e.g. `/grpc` behind a path-routing proxy; default none) starts its
 * `path`.
 */
export function createMethodCodecCache(target: string, pathPrefix = ""): MethodCodecCache {
  const codecs = new WeakMap<DescMethod, MethodCodec>();
  return (method) => {
    let codec = codecs.get(method);
    if (codec === undefined) {
      codec = createMethodCodec(method, target.replace(/\/$/, ""), pathPrefix);
      codecs.set(method, codec);
    }
    return codec;
  };
}

function createMethodCodec(method: DescMethod, target: string, pathPrefix: string): MethodCodec {
  const input = method.input;
  const output = method.output;
  const name = `/${method.parent.typeName}/${method.name}`;
  return {
    path: pathPrefix + name,
    url: target + name,
    normalize(message) {
      return isMessage(message, input) ? message : create(input, message as never);
    },
    serialize(message) {
      const bytes = toBinary(input, message);
      // grpc-js frames with Buffer methods; wrapping the same memory costs no copy.
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    encode(message) {
      return toBinary(input, message);
    },
    decode(bytes) {
      return fromBinary(output, bytes);
    },
    deserialize(bytes) {
      // grpc-js hands a Buffer; a plain view of it keeps `bytes` fields Uint8Arrays, as
      // Connect's own transports give them, rather than Buffer slices.
      return fromBinary(output, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
  };
}
