/**
 * An HPACK (RFC 7541) header-block decoder: the http2 transport's connection
 * (./client-connection.ts) decodes every response header block with it, and the bench's frame
 * floor does too. Hand-written because no kept npm package decodes HPACK (node:http2 does it in
 * nghttp2 and exposes no decoder). Whole representations only: indexed fields, literals with
 * and without indexing or never indexed, dynamic table size updates, Huffman-coded strings. A
 * malformed block throws `HpackError`; after one, the connection's table state is unknown, so
 * the connection must be dropped (RFC 7541 §2.3.2 COMPRESSION_ERROR). A well-formed block whose
 * list is over the limit throws `HeaderListTooLarge` once the whole block is decoded, so the
 * table stays in step and only that stream need fail.
 */
import { huffmanCodes, huffmanLengths, staticTable } from "./hpack-tables.js";

export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** A block decoded in full whose header list is over the limit: a stream error, not a connection one. */
export class HeaderListTooLarge extends Error {
  override readonly name = "HeaderListTooLarge";
}

/** Name/value pairs in block order; names and values as latin1 strings (one char per octet). */
export type HeaderList = [string, string][];

/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const entryOverhead = 32;
/** SETTINGS_HEADER_TABLE_SIZE's default (RFC 9113 §6.5.2), which protomesh never changes. */
const defaultTableSize = 4096;
/** A larger integer than any sane header block needs: a guard against overlong encodings. */
const maxInteger = 2 ** 24;

export class HpackDecoder {
  /** Newest entry first, as the dynamic table is indexed. */
  readonly #table: [string, string][] = [];
  #tableBytes = 0;
  #maxTableBytes: number;
  readonly #settingsLimit: number;
  readonly #maxListBytes: number;

  /**
   * @param settingsLimit the SETTINGS_HEADER_TABLE_SIZE this side advertised (default 4096): the
   *   most a size update may ask for.
   * @param maxListBytes the largest decoded header list accepted (default 64 KiB), counted as
   *   RFC 9113's SETTINGS_MAX_HEADER_LIST_SIZE counts, so a hostile peer cannot make one small
   *   block expand into megabytes of indexed repeats.
   */
  constructor(settingsLimit = defaultTableSize, maxListBytes = 64 * 1024) {
    this.#settingsLimit = settingsLimit;
    this.#maxTableBytes = settingsLimit;
    this.#maxListBytes = maxListBytes;
  }

  decode(block: Uint8Array): HeaderList {
    const headers: HeaderList = [];
    const cursor = { at: 0 };
    let listBytes = 0;
    while (cursor.at < block.length) {
      const first = block[cursor.at] as number;
      let field: [string, string];
      if (first & 0x80) {
        field = this.#entry(readInteger(block, cursor, 7));
      } else if (first & 0x40) {
        field = this.#literal(block, cursor, 6);
        this.#insert(field);
      } else if (first & 0x20) {
        if (headers.length > 0) throw new HpackError("table size update after a header field");
        const size = readInteger(block, cursor, 5);
        if (size > this.#settingsLimit) {
          throw new HpackError(
            `table size update to ${size} above the limit ${this.#settingsLimit}`,
          );
        }
        this.#maxTableBytes = size;
        this.#evictTo(size);
        continue;
      } else {
        field = this.#literal(block, cursor, 4);
      }
      listBytes += field[0].length + field[1].length + entryOverhead;
      // Past the limit, fields are still decoded (the table must stay in step) but not kept.
      if (listBytes <= this.#maxListBytes) headers.push(field);
    }
    if (listBytes > this.#maxListBytes) {
      throw new HeaderListTooLarge(
        `response header list of ${listBytes} bytes exceeds the limit of ${this.#maxListBytes}`,
      );
    }
    return headers;
  }

  #literal(block: Uint8Array, cursor: { at: number }, prefixBits: number): [string, string] {
    const nameIndex = readInteger(block, cursor, prefixBits);
    const name = nameIndex === 0 ? readString(block, cursor) : this.#entry(nameIndex)[0];
    return [name, readString(block, cursor)];
  }

  #entry(index: number): [string, string] {
    if (index === 0) throw new HpackError("index 0");
    const fixed = staticTable[index - 1];
    if (fixed) return [fixed[0], fixed[1]];
    const dynamic = this.#table[index - staticTable.length - 1];
    if (!dynamic) throw new HpackError(`index ${index} is in neither table`);
    return dynamic;
  }

  #insert(field: [string, string]): void {
    const size = field[0].length + field[1].length + entryOverhead;
    // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
    this.#evictTo(this.#maxTableBytes - size);
    if (size > this.#maxTableBytes) return;
    this.#table.unshift(field);
    this.#tableBytes += size;
  }

  #evictTo(bytes: number): void {
    while (this.#tableBytes > Math.max(0, bytes)) {
      const oldest = this.#table.pop() as [string, string];
      this.#tableBytes -= oldest[0].length + oldest[1].length + entryOverhead;
    }
  }
}

/** RFC 7541 §5.1: an integer with an N-bit prefix, moving `cursor` past it. */
function readInteger(block: Uint8Array, cursor: { at: number }, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  let value = (block[cursor.at++] as number) & mask;
  if (value < mask) return value;
  let shift = 0;
  for (;;) {
    if (cursor.at >= block.length) throw new HpackError("integer cut short");
    const byte = block[cursor.at++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (value > maxInteger) throw new HpackError("integer too large");
    if ((byte & 0x80) === 0) return value;
    shift += 7;
  }
}

/** RFC 7541 §5.2: a string literal, Huffman-coded or not, as latin1. */
function readString(block: Uint8Array, cursor: { at: number }): string {
  if (cursor.at >= block.length) throw new HpackError("string literal missing");
  const huffman = ((block[cursor.at] as number) & 0x80) !== 0;
  const length = readInteger(block, cursor, 7);
  const end = cursor.at + length;
  if (end > block.length) throw new HpackError("string literal cut short");
  const bytes = block.subarray(cursor.at, end);
  cursor.at = end;
  return huffman ? huffmanDecode(bytes) : latin1(bytes);
}

/** Octets as a latin1 string, without a Buffer view where `bytes` is one already. */
function latin1(bytes: Uint8Array): string {
  return (
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  ).toString("latin1");
}

/**
 * The Huffman code as a binary tree in two arrays: `tree[2n]` and `tree[2n + 1]` are node n's
 * children for bit 0 and bit 1; a value below zero is a leaf holding symbol −value − 1.
 */
const tree = (() => {
  const nodes: number[] = [0, 0];
  let count = 1;
  for (let symbol = 0; symbol < huffmanCodes.length; symbol++) {
    const code = huffmanCodes[symbol] as number;
    const bits = huffmanLengths[symbol] as number;
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (nodes[slot] === 0) {
        nodes[slot] = count++;
        nodes.push(0, 0);
      }
      node = nodes[slot] as number;
    }
    nodes[2 * node + (code & 1)] = -symbol - 1;
  }
  return Int32Array.from(nodes);
})();

const eos = 256;

/** RFC 7541 §5.2 and Appendix B: padding is at most 7 bits, all ones; EOS itself is an error. */
export function huffmanDecode(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(Math.ceil((bytes.length * 8) / 5));
  let length = 0;
  let node = 0;
  let pendingBits = 0;
  let pendingAllOnes = true;
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >>> i) & 1;
      const next = tree[2 * node + bit] as number;
      pendingBits++;
      if (bit === 0) pendingAllOnes = false;
      if (next >= 0) {
        node = next;
        continue;
      }
      const symbol = -next - 1;
      if (symbol === eos) throw new HpackError("EOS in a Huffman string");
      out[length++] = symbol;
      node = 0;
      pendingBits = 0;
      pendingAllOnes = true;
    }
  }
  if (pendingBits > 7 || !pendingAllOnes) throw new HpackError("invalid Huffman padding");
  return out.toString("latin1", 0, length);
}
