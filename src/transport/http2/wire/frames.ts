/**
 * RFC 9113's frame vocabulary and the small writers both ends of the wire share: the client
 * connection (./client-connection.ts) and the server connection (./server-connection.ts).
 */

/** Frame types (§6). */
export const frame = {
  data: 0,
  headers: 1,
  priority: 2,
  rstStream: 3,
  settings: 4,
  pushPromise: 5,
  ping: 6,
  goaway: 7,
  windowUpdate: 8,
  continuation: 9,
} as const;

/** Frame flags (§6); `ack` and `endStream` share a bit on different frame types. */
export const flag = {
  endStream: 0x1,
  ack: 0x1,
  endHeaders: 0x4,
  padded: 0x8,
  priority: 0x20,
} as const;

/** RFC 9113 §7 error codes. */
export const h2Error = {
  noError: 0x0,
  protocol: 0x1,
  internal: 0x2,
  flowControl: 0x3,
  streamClosed: 0x5,
  frameSize: 0x6,
  refusedStream: 0x7,
  cancel: 0x8,
  compression: 0x9,
  enhanceYourCalm: 0xb,
  inadequateSecurity: 0xc,
} as const;

/** SETTINGS identifiers (§6.5.2). */
export const setting = {
  headerTableSize: 1,
  enablePush: 2,
  maxConcurrentStreams: 3,
  initialWindowSize: 4,
  maxFrameSize: 5,
  maxHeaderListSize: 6,
} as const;

export const headerBytes = 9;
export const defaultWindow = 65_535;
export const defaultMaxFrame = 16_384;
export const maxWindow = 2 ** 31 - 1;
export const maxStreamId = 2 ** 31 - 1;
export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const noPayload = Buffer.alloc(0);

/** Fields HTTP/2 forbids in a message (§8.2.2). */
export const connectionSpecific = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** A field name: lower-case token characters only (RFC 9110 §5.6.2, RFC 9113 §8.2.1). */
const fieldName = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** What a field value may not hold: NUL, CR or LF anywhere, or whitespace at either end (§8.2.1). */
const badFieldValue = /[\0\r\n]|^[ \t]|[ \t]$/;

/** What makes a regular field malformed in HTTP/2 (§8.2), or undefined. */
export function fieldProblem(name: string, value: string): string | undefined {
  if (!fieldName.test(name)) {
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) return `upper-case field name ${name}`;
    }
    return `field name ${JSON.stringify(name)}`;
  }
  if (badFieldValue.test(value)) return `field ${name} with a malformed value`;
  if (connectionSpecific.has(name)) return `connection-specific field ${name}`;
  if (name === "te" && value !== "trailers") return `te: ${value}`;
  return undefined;
}

export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  id: number,
): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(id, at + 5);
}

export function frameHeader(length: number, type: number, flags: number, id: number): Buffer {
  const out = Buffer.allocUnsafe(headerBytes);
  writeFrameHeader(out, 0, length, type, flags, id);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

/** A whole GOAWAY frame; `lastStreamId` is 0 for a client, the last stream served for a server. */
export function goawayFrame(code: number, message: string, lastStreamId = 0): Buffer {
  const debug = Buffer.from(message, "utf8");
  const out = Buffer.allocUnsafe(headerBytes + 8 + debug.length);
  writeFrameHeader(out, 0, 8 + debug.length, frame.goaway, 0, 0);
  out.writeUInt32BE(lastStreamId, headerBytes);
  out.writeUInt32BE(code, headerBytes + 4);
  debug.copy(out, headerBytes + 8);
  return out;
}

/** A padded frame's content, or undefined when the padding overruns it (§6.1). */
export function unpadded(payload: Buffer): Buffer | undefined {
  const padding = payload[0] ?? 0;
  if (payload.length === 0 || padding >= payload.length) return undefined;
  return payload.subarray(1, payload.length - padding);
}

/**
 * A HEADERS frame's header block fragment, its padding and priority fields removed (§6.2), or
 * the connection error that a frame too short for them is.
 */
export function headerFragment(
  flags: number,
  payload: Buffer,
): Buffer | { readonly code: number; readonly message: string } {
  let fragment = flags & flag.padded ? unpadded(payload) : payload;
  if (fragment === undefined)
    return { code: h2Error.protocol, message: "HEADERS padding longer than the frame" };
  if (flags & flag.priority) {
    if (fragment.length < 5)
      return { code: h2Error.frameSize, message: "HEADERS too short for its priority" };
    fragment = fragment.subarray(5);
  }
  return fragment;
}
