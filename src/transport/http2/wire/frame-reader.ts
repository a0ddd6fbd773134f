import { headerBytes } from "./frames.js";

/**
 * Cuts a connection's incoming bytes into frames (RFC 9113 §4.1), for either end of the wire: a
 * frame split across reads waits here for its rest. A frame longer than `maxFrame` (this side's
 * SETTINGS_MAX_FRAME_SIZE) stops reading: the owner ends the connection (FRAME_SIZE_ERROR).
 */
export class FrameReader {
  #inbox: Buffer | undefined;

  constructor(
    private readonly maxFrame: number,
    private readonly onFrame: (type: number, flags: number, id: number, payload: Buffer) => void,
    private readonly onTooLarge: (length: number) => void,
    /** Whether the owner is gone: reading stops between frames. */
    private readonly stopped: () => boolean,
  ) {}

  read(chunk: Buffer): void {
    let buffer = chunk;
    const held = this.#inbox;
    if (held !== undefined) {
      buffer = Buffer.concat([held, chunk]);
      this.#inbox = undefined;
    }
    let at = 0;
    while (!this.stopped() && buffer.length - at >= headerBytes) {
      const length =
        ((buffer[at] as number) << 16) |
        ((buffer[at + 1] as number) << 8) |
        (buffer[at + 2] as number);
      if (length > this.maxFrame) {
        this.onTooLarge(length);
        return;
      }
      const end = at + headerBytes + length;
      if (end > buffer.length) break;
      const type = buffer[at + 3] as number;
      const flags = buffer[at + 4] as number;
      const id = buffer.readUInt32BE(at + 5) & 0x7fff_ffff;
      this.onFrame(type, flags, id, buffer.subarray(at + headerBytes, end));
      at = end;
    }
    if (at < buffer.length && !this.stopped()) this.#inbox = buffer.subarray(at);
  }
}
