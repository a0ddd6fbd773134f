// Hand-written: gRPC's `grpc-message` percent-encoding is not URI encoding, and no library we use
// exposes it. encodeURIComponent escapes ':' '/' ',' (which grpc-js's decodeURI then leaves
// escaped), encodeURI throws on a lone surrogate, and decodeURIComponent throws on a malformed
// escape, which gRPC's spec forbids a decoder to do.

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const hex = "0123456789ABCDEF";
// Space and VCHAR except '%': what gRPC's grammar (Percent-Byte-Unencoded) sends as it is.
const plain = /^[\x20-\x24\x26-\x7E]*$/;

/**
 * Encodes a status message as gRPC's HTTP/2 protocol says for `grpc-message`: the message is
 * UTF-8 encoded, bytes 0x20–0x7E except `%` are sent as they are, every other byte (and `%`) as
 * `%XX`. So `order ord_1: not found (100% sure, é)` goes out as
 * `order ord_1: not found (100%25 sure, %C3%A9)`, which every gRPC decoder reads back exactly
 * (grpc-js's decodeURI and Connect's decodeURIComponent included). A lone surrogate, which
 * UTF-8 cannot carry, is sent as U+FFFD.
 */
export function encodeGrpcMessage(message: string): string {
  if (plain.test(message)) return message;
  let encoded = "";
  for (const byte of utf8.encode(message)) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${hex[byte >> 4]}${hex[byte & 15]}`;
  }
  return encoded;
}

/**
 * Decodes a `grpc-message` value as gRPC's HTTP/2 protocol says: any `%XX` is a byte, and the
 * bytes are UTF-8. It never throws: a malformed escape (`%` not followed by two hex digits) and
 * escaped bytes that are not valid UTF-8 are kept as they were sent, the rest is decoded — the
 * spec forbids failing or dropping the message.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  let decoded = "";
  let i = 0;
  while (i < value.length) {
    if (!isEscape(value, i)) {
      decoded += value[i];
      i++;
      continue;
    }
    // A run of escapes: its bytes, decoded sequence by sequence.
    const bytes: number[] = [];
    const start = i;
    while (isEscape(value, i)) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 3;
    }
    decoded += decodeRun(bytes, value.slice(start, i));
  }
  return decoded;
}

function isEscape(value: string, i: number): boolean {
  return value[i] === "%" && isHex(value.charCodeAt(i + 1)) && isHex(value.charCodeAt(i + 2));
}

function isHex(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x46) ||
    (code >= 0x61 && code <= 0x66)
  );
}

/** The UTF-8 sequences of a run of escaped bytes; a byte that starts none stays as sent. */
function decodeRun(bytes: readonly number[], sent: string): string {
  let decoded = "";
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes[i] ?? 0);
    const sequence = length === 0 ? undefined : bytes.slice(i, i + length);
    const text = sequence?.length === length ? utf8OrUndefined(sequence) : undefined;
    if (text === undefined) {
      decoded += sent.slice(i * 3, i * 3 + 3);
      i++;
    } else {
      decoded += text;
      i += length;
    }
  }
  return decoded;
}

/** Bytes in the UTF-8 sequence this byte starts; 0 for a continuation or invalid byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function utf8OrUndefined(sequence: readonly number[]): string | undefined {
  try {
    return strictUtf8.decode(Uint8Array.from(sequence));
  } catch {
    return undefined;
  }
}
