import type { IncomingHttpHeaders } from "node:http2";

/** What a stream tells its call; every method is called synchronously from the connection. */
export interface StreamSink {
  /** The response's (final, non-1xx) header block; for a trailers-only response, the status. */
  responseArrived(headers: IncomingHttpHeaders): void;
  /** Response body bytes, a view of the received memory. */
  dataArrived(chunk: Buffer): void;
  /** The trailers, which end the response. */
  trailersArrived(headers: IncomingHttpHeaders): void;
  /** The bytes written but not yet sent fell below the stream's high-water mark. */
  drained(): void;
  /** The stream is closed, both ways: the call reads `rstCode` and `error` for why. */
  closed(): void;
}

/** What a stream asks of its connection (./client-connection.ts). */
export interface StreamHost {
  flush(stream: ClientStream): void;
  reset(stream: ClientStream, code: number, error: string | undefined): void;
  creditReleased(stream: ClientStream): void;
}

/** Unsent bytes above which `write` says wait (the caller awaits `drained`). */
const highWater = 64 * 1024;

/**
 * One HTTP/2 stream of a client connection: what is still to send and the peer's window for it;
 * what was received and the credit not yet returned. The connection does the framing; this
 * holds the state and the caller's side of it.
 */
export class ClientStream {
  /** The RST_STREAM code that ended the stream, sent or received; 0 when none did. */
  rstCode = 0;
  /** Why this side failed the stream (a malformed response, say), when it did. */
  error: string | undefined;
  closed = false;
  /** The response's final header block arrived (later blocks are trailers). */
  responded = false;
  /** END_STREAM sent. */
  localEnded = false;
  /** END_STREAM received. */
  remoteEnded = false;
  /** `end()` was called: END_STREAM goes with the last pending byte. */
  endRequested = false;
  /** Bytes written but not yet framed, in order. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** `write` said wait: `drained` is owed. */
  owesDrain = false;
  /** What the peer lets this stream send now (may go below zero after a SETTINGS change). */
  sendWindow: number;
  /** What the peer may still send on this stream before we return credit. */
  receiveWindow: number;
  /** Received bytes whose credit is held back (paused) or not yet worth a WINDOW_UPDATE. */
  unreturned = 0;
  paused = false;

  constructor(
    readonly id: number,
    readonly sink: StreamSink,
    private readonly host: StreamHost,
    sendWindow: number,
    receiveWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindow;
  }

  /** Queues `data` to send; false when the caller should wait for `drained`. */
  write(data: Buffer): boolean {
    if (this.closed || this.endRequested) return false;
    if (data.length > 0) {
      this.pending.push(data);
      this.pendingBytes += data.length;
    }
    this.host.flush(this);
    if (this.pendingBytes < highWater) return true;
    this.owesDrain = true;
    return false;
  }

  /** Queues `data`, if any, then END_STREAM. */
  end(data?: Buffer): void {
    if (this.closed || this.endRequested) return;
    if (data !== undefined && data.length > 0) {
      this.pending.push(data);
      this.pendingBytes += data.length;
    }
    this.endRequested = true;
    this.host.flush(this);
  }

  /** Holds back the stream's credit: the server can send at most one window more. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.host.creditReleased(this);
  }

  /** RST_STREAM with `code` (default CANCEL) and closes the stream now. */
  cancel(code = 0x8): void {
    if (!this.closed) this.host.reset(this, code, undefined);
  }

  /** Whether a `drained` is due now. */
  get belowHighWater(): boolean {
    return this.pendingBytes < highWater;
  }
}
