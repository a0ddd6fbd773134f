/**
 * The HPACK (RFC 7541) encoder of the http2 transport's request headers. It never adds to the
 * dynamic table: every field is a literal without indexing (never indexed for credentials, so
 * no intermediary may index them either), its name taken from the static table where it is
 * there, its value raw (no Huffman coding). That costs a few bytes a call on the wire and saves
 * the encoder's table, which the peer's SETTINGS_HEADER_TABLE_SIZE could shrink at any time.
 * Hand-written for the same reason as the decoder: no kept npm package encodes HPACK.
 */
import { staticTable } from "./hpack-tables.js";

/** Static-table index of each name (its first entry). */
const nameIndex = new Map<string, number>();
staticTable.forEach(([name], i) => {
  if (!nameIndex.has(name)) nameIndex.set(name, i + 1);
});

/** Fields the static table holds whole: one octet each (§6.1 indexed representation). */
const indexedFields = new Map<string, number>([
  [":method\0POST", 3],
  [":method\0GET", 2],
  [":scheme\0http", 6],
  [":scheme\0https", 7],
  [":status\x100", 8],
  [":status\x104", 9],
  [":status\x200", 12],
  [":status\x204", 13],
  [":status\x280", 14],
]);

/** Names whose values no intermediary should add to a table (§7.1.3). */
const neverIndexed = new Set(["authorization", "proxy-authorization", "cookie"]);

/** Room left at the front of an encoded block for the HEADERS frame header. */
export const frameHeaderRoom = 9;

/**
 * Encodes `fields` (name, value, name, value, …; names lower-case, values latin1) as a header
 * block in a buffer that starts with `frameHeaderRoom` octets left free, so the HEADERS frame
 * is written around it without a copy. `insert` (an encoded block of the connection's own
 * pseudo-headers, `:scheme` and `:authority`) goes after the caller's pseudo-headers.
 */
export function encodeHeaderBlock(fields: readonly string[], insert: Uint8Array): Buffer {
  let size = frameHeaderRoom + insert.length;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    // At most 2 octets of index, 5 of each length.
    size += 12 + value.length + (nameIndex.has(name) ? 0 : name.length);
  }
  const out = Buffer.allocUnsafe(size);
  let at = frameHeaderRoom;
  let inserted = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const pseudo = name.charCodeAt(0) === 0x3a;
    if (!pseudo && !inserted) {
      out.set(insert, at);
      at += insert.length;
      inserted = true;
    }
    if (pseudo) {
      const whole = indexedFields.get(`${name}\0${value}`);
      if (whole !== undefined) {
        out[at++] = 0x80 | whole;
        continue;
      }
    }
    const index = nameIndex.get(name) ?? 0;
    // §6.2.2 without indexing: 0000xxxx; §6.2.3 never indexed: 0001xxxx; 4-bit name index.
    at = writeInteger(out, at, index, 4, neverIndexed.has(name) ? 0x10 : 0x00);
    if (index === 0) at = writeString(out, at, name);
    at = writeString(out, at, value);
  }
  if (!inserted) {
    out.set(insert, at);
    at += insert.length;
  }
  return out.subarray(0, at);
}

/** The connection's own pseudo-headers, encoded once per connection. */
export function encodeConnectionFields(scheme: string, authority: string): Buffer {
  const block = encodeHeaderBlock([":scheme", scheme, ":authority", authority], new Uint8Array());
  return Buffer.from(block.subarray(frameHeaderRoom));
}

/** §5.1: `value` with an N-bit prefix, the prefix's high bits set to `flags`. */
function writeInteger(
  out: Buffer,
  start: number,
  value: number,
  prefixBits: number,
  flags: number,
): number {
  let at = start;
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at++] = flags | value;
    return at;
  }
  out[at++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[at++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

/** §5.2: a raw string literal (H bit clear), one octet per latin1 character. */
function writeString(out: Buffer, start: number, value: string): number {
  const at = writeInteger(out, start, value.length, 7, 0);
  return at + out.write(value, at, "latin1");
}
