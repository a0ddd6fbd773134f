import type { Socket } from "node:net";
import { flag, frame, frameHeader, headerBytes, writeFrameHeader } from "./frames.js";
import { frameHeaderRoom } from "./hpack-encoder.js";

/** Above this many unsent bytes in the socket's buffer, DATA waits (`blocked`). */
const socketHighWater = 4 * 1024 * 1024;
/**
 * Queued frames are written before the turn ends once this many bytes wait: about 20 small
 * unary calls. Below it, one write per turn carries them all.
 */
const earlyWriteBytes = 4 * 1024;

/**
 * The frames one side of a connection (client or server) has queued for its socket. What is
 * queued in one turn of the event loop goes out after the turn's I/O callbacks (setImmediate),
 * in one write syscall for many calls, or in writes of 4 KiB as it fills, so the peer starts on
 * the first calls of a busy turn while the rest are still being made.
 */
export class FrameOutbox {
  /**
   * The socket's buffer is past 4 MiB: the owner frames no DATA until `writable` is called,
   * so memory stays bounded when the peer's windows are large and the network is slow. (The
   * outbox itself never holds more than 4 KiB, so the socket's buffer is the only place bytes
   * can pile up.)
   */
  blocked = false;
  #parts: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;

  /**
   * @param writable called after each turn's write while the socket takes more, and when a
   *   full socket drains: the owner frames the DATA it held back.
   */
  constructor(
    private readonly socket: Socket,
    private readonly writable: () => void,
  ) {
    socket.on("drain", () => {
      if (!this.blocked) return;
      this.blocked = false;
      this.writable();
    });
  }

  /** Bytes queued and not yet handed to the socket. */
  get bytes(): number {
    return this.#bytes;
  }

  queue(bytes: Buffer): void {
    this.#parts.push(bytes);
    this.#bytes += bytes.length;
    if (this.#bytes >= earlyWriteBytes) this.write();
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(endOfTurn, this);
  }

  /** Queues one whole frame (a copy of `payload` behind its header). */
  frame(type: number, flags: number, id: number, payload: Buffer): void {
    const out = Buffer.allocUnsafe(headerBytes + payload.length);
    writeFrameHeader(out, 0, payload.length, type, flags, id);
    payload.copy(out, headerBytes);
    this.queue(out);
  }

  /**
   * Queues an encoded header block (./hpack-encoder.ts, `frameHeaderRoom` free at its front) as
   * HEADERS, and CONTINUATION frames back to back when it is larger than the peer's frame size.
   */
  headerBlock(block: Buffer, id: number, maxFrame: number, endStream: boolean): void {
    const size = block.length - frameHeaderRoom;
    const end = endStream ? flag.endStream : 0;
    if (size <= maxFrame) {
      writeFrameHeader(block, 0, size, frame.headers, flag.endHeaders | end, id);
      this.queue(block);
      return;
    }
    let at = frameHeaderRoom;
    let type: number = frame.headers;
    while (at < block.length) {
      const stop = Math.min(at + maxFrame, block.length);
      const flags =
        (stop === block.length ? flag.endHeaders : 0) | (type === frame.headers ? end : 0);
      this.queue(frameHeader(stop - at, type, flags, id));
      this.queue(block.subarray(at, stop));
      type = frame.continuation;
      at = stop;
    }
  }

  /**
   * Queues one DATA frame of the first `size` bytes of `pending` (taken off it), with END_STREAM
   * when `last`; the caller has checked the windows.
   */
  data(id: number, pending: Buffer[], size: number, last: boolean): void {
    this.queue(frameHeader(size, frame.data, last ? flag.endStream : 0, id));
    let left = size;
    while (left > 0) {
      const head = pending[0] as Buffer;
      if (head.length <= left) {
        pending.shift();
        this.queue(head);
        left -= head.length;
      } else {
        this.queue(head.subarray(0, left));
        pending[0] = head.subarray(left);
        left = 0;
      }
    }
  }

  /** Hands what is queued to the socket now; past its high-water mark, `blocked`. */
  write(): void {
    const parts = this.#parts;
    const bytes = this.#bytes;
    if (parts.length === 0) return;
    this.#parts = [];
    this.#bytes = 0;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes));
    if (socket.writableLength >= socketHighWater) this.blocked = true;
  }

  /** For `endOfTurn` only. */
  turnEnded(): void {
    this.#scheduled = false;
    if (this.#parts.length === 0) return;
    this.write();
    // DATA held back because this turn's writes were full goes into the next one.
    if (!this.blocked) this.writable();
  }
}

function endOfTurn(outbox: FrameOutbox): void {
  outbox.turnEnded();
}
