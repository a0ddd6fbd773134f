/**
 * The text of a `grpc-message` header or trailer. gRPC percent-encodes the status message
 * (UTF-8 bytes outside printable ASCII, and `%` itself, as `%XX`); this undoes it. A `%` not
 * followed by two hex digits is kept as sent, and the function never throws: a status message
 * from a buggy server must still reach the caller.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const char = value.charCodeAt(i);
    if (char === 0x25 && isHex(value, i + 1) && isHex(value, i + 2)) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (char < 0x80) {
      bytes.push(char);
    } else {
      // A raw non-ASCII character (not per spec, but seen): its UTF-8 bytes, surrogate pairs whole.
      const codePoint = value.codePointAt(i) ?? char;
      const text = String.fromCodePoint(codePoint);
      for (const byte of encoder.encode(text)) bytes.push(byte);
      i += text.length - 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function isHex(value: string, index: number): boolean {
  const c = value.charCodeAt(index);
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
