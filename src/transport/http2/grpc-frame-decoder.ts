import { Code, ConnectError } from "@connectrpc/connect";

/** Where decoded frames go. */
export interface FrameSink {
  /**
   * One complete message; `compressed` per the frame's flag. `data` is a plain `Uint8Array`
   * view (not a Buffer) of the received memory, so protobuf-es's `bytes` fields come out as
   * Uint8Arrays, as Connect's own transports give them, without another view per message.
   */
  frame(compressed: boolean, data: Uint8Array): void;
}

const headerBytes = 5;

/**
 * Splits a response body into gRPC length-prefixed messages as chunks arrive, handing each to
 * the sink without an array per chunk; a message that fits its chunk is never copied.
 * Hand-written for the same reason as the server engine's reader: Connect's is an
 * async-iterable pipeline, the cost this engine exists to avoid. A message declared longer
 * than `maxBytes` is refused as soon as its header arrives.
 */
export class GrpcFrameDecoder {
  /** Chunks of an unfinished frame, joined only once it is complete (none: no array). */
  #chunks: Buffer[] | undefined;
  #buffered = 0;
  /** Size of the frame being read (header included), or -1 before its header arrived. */
  #frameBytes = -1;

  constructor(private readonly maxBytes: number) {}

  /** Throws a ConnectError for a bad flag or an oversized message. */
  push(chunk: Buffer, sink: FrameSink): void {
    let data = chunk;
    const chunks = this.#chunks;
    if (chunks !== undefined) {
      chunks.push(chunk);
      this.#buffered += chunk.length;
      const needed = this.#frameBytes < 0 ? headerBytes : this.#frameBytes;
      if (this.#buffered < needed) return;
      data = Buffer.concat(chunks, this.#buffered);
      this.#chunks = undefined;
      this.#buffered = 0;
    }
    for (;;) {
      if (this.#frameBytes < 0) {
        if (data.length < headerBytes) break;
        const flags = data[0] as number;
        if (flags > 1) {
          throw new ConnectError(`protocol error: invalid frame flags ${flags}`, Code.Internal);
        }
        const length = data.readUInt32BE(1);
        if (length > this.maxBytes) {
          throw new ConnectError(
            `message of ${length} bytes exceeds the limit of ${this.maxBytes}`,
            Code.ResourceExhausted,
          );
        }
        this.#frameBytes = headerBytes + length;
      }
      if (data.length < this.#frameBytes) break;
      const end = this.#frameBytes;
      this.#frameBytes = -1;
      sink.frame(
        data[0] === 1,
        new Uint8Array(data.buffer, data.byteOffset + headerBytes, end - headerBytes),
      );
      if (end === data.length) return;
      data = data.subarray(end);
    }
    if (data.length > 0) {
      this.#chunks = [data];
      this.#buffered = data.length;
    }
  }

  /** Bytes of an unfinished message, which the body must not end inside. */
  get leftover(): number {
    return this.#buffered;
  }
}
