import type { IncomingHttpHeaders } from "node:http2";

/** Where a request's body goes once someone reads it; called synchronously by the connection. */
export interface RequestReader {
  /** Body bytes, a view of the received memory. */
  data(chunk: Buffer): void;
  /** The request ended (END_STREAM): no more data. */
  end(): void;
}

/** What a stream asks of its connection (./server-connection.ts). */
export interface ServerStreamHost {
  sendHeaders(stream: ServerStream, block: readonly string[], endStream: boolean): void;
  flush(stream: ServerStream): void;
  reset(stream: ServerStream, code: number): void;
  consumed(stream: ServerStream, bytes: number): void;
}

/**
 * One request of a server connection and its answer. Body bytes that arrive before anyone
 * reads wait here, their flow-control credit held back, so an unread body costs at most one
 * stream window. The connection does the framing; this holds the state.
 */
export class ServerStream {
  /** Closed both ways: answered in full, reset by either side, or the connection went. */
  closed = false;
  /** The caller reset the stream, or the connection went, before the answer was all sent. */
  aborted = false;
  /** END_STREAM received. */
  remoteEnded = false;
  /** The response's header block went out. */
  headersSent = false;
  /** END_STREAM sent. */
  localEnded = false;
  /** `end()` was called: END_STREAM goes with the last pending byte. */
  endRequested = false;
  /** Response bytes written but not yet framed, in order. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** What the peer lets this stream send now (may go below zero after a SETTINGS change). */
  sendWindow: number;
  /** What the peer may still send before credit comes back. */
  receiveWindow: number;
  /** Bytes received and read whose credit is not yet worth a WINDOW_UPDATE. */
  unreturned = 0;
  /** The request's content-length, when it gave one (-1 when not): DATA must add up to it. */
  readonly expectedLength: number;
  receivedLength = 0;
  /** `write` said wait: `onDrain` is owed. */
  owesDrain = false;
  /** Called when written bytes fall back below the high-water mark after `write` said wait. */
  onDrain: (() => void) | undefined;
  /** Called once when the stream closes, whichever way. */
  onClose: ((stream: ServerStream) => void) | undefined;
  #reader: RequestReader | undefined;
  #held: Buffer[] | undefined;

  constructor(
    readonly id: number,
    /** The request's header fields, pseudo-headers included (`:method`, `:path`, …). */
    readonly headers: IncomingHttpHeaders,
    private readonly host: ServerStreamHost,
    sendWindow: number,
    receiveWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindow;
    const length = headers["content-length"];
    this.expectedLength = length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : -1;
  }

  /** The caller's address, "ip:port", set by the connection. */
  peer = "unknown:0";

  /** Starts reading the body: what arrived already is handed over now, then each chunk as it comes. */
  read(reader: RequestReader): void {
    if (this.#reader !== undefined) return;
    this.#reader = reader;
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) {
      let bytes = 0;
      for (const chunk of held) {
        bytes += chunk.length;
        reader.data(chunk);
      }
      if (!this.closed) this.host.consumed(this, bytes);
    }
    if (this.remoteEnded) reader.end();
  }

  /** Throws the body away as it comes (its credit goes back): for answers that need none. */
  discard(): void {
    this.read(discarded);
  }

  /** For the connection: body bytes arrived. */
  arrived(chunk: Buffer): void {
    const reader = this.#reader;
    if (reader === undefined) {
      this.#held ??= [];
      this.#held.push(chunk);
      return;
    }
    reader.data(chunk);
    if (!this.closed) this.host.consumed(this, chunk.length);
  }

  /** For the connection: END_STREAM arrived. */
  ended(): void {
    this.remoteEnded = true;
    this.#reader?.end();
  }

  /**
   * Sends the response's header block: `fields` are name, value, name, value…, lower-case names,
   * no pseudo-headers (`:status` goes first by itself). With `endStream`, the answer has no body.
   */
  respond(status: number, fields: readonly string[], endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.host.sendHeaders(this, [":status", String(status), ...fields], endStream);
  }

  /**
   * Queues body bytes (after `respond`); false when the caller should wait for `onDrain` (the
   * client is not reading: more than 64 KiB wait for its window).
   */
  write(data: Buffer | Uint8Array | string): boolean {
    if (this.closed || this.endRequested || !this.headersSent) return true;
    const bytes = typeof data === "string" ? Buffer.from(data) : asBuffer(data);
    if (bytes.length > 0) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      this.host.flush(this);
    }
    if (this.pendingBytes < highWater) return true;
    this.owesDrain = true;
    return false;
  }

  /** For the connection: bytes were framed; a drain is due if the caller was told to wait. */
  framed(): void {
    if (this.owesDrain && this.pendingBytes < highWater) {
      this.owesDrain = false;
      this.onDrain?.();
    }
  }

  /** Queues `data`, if any, then END_STREAM: the answer is complete. */
  end(data?: Buffer | Uint8Array | string): void {
    if (this.closed || this.endRequested || !this.headersSent) return;
    if (data !== undefined) {
      const bytes = typeof data === "string" ? Buffer.from(data) : asBuffer(data);
      if (bytes.length > 0) {
        this.pending.push(bytes);
        this.pendingBytes += bytes.length;
      }
    }
    this.endRequested = true;
    this.host.flush(this);
  }

  /** RST_STREAM with `code` (default CANCEL; INTERNAL_ERROR for a failed answer) and closes now. */
  reset(code = 0x8): void {
    if (!this.closed) this.host.reset(this, code);
  }
}

/** Unsent bytes above which `write` says wait. */
const highWater = 64 * 1024;

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const discarded: RequestReader = {
  data() {},
  end() {},
};
