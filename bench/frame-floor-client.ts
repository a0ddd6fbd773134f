/**
 * The client suite's floor (bench/suites/client.ts, row `frame_floor`) and the gateway suite's
 * frame proxy's upstream client: unary gRPC calls on the http2 transport's own HTTP/2 connection
 * (src/transport/http2/wire/client-connection.ts) with nothing of the transport around it — no
 * channel, load balancing, call state, deadline, codec, abort watch or policy. So its figure is
 * what the wire alone costs per call, and the protomesh client's distance from it is what the
 * rest of a call costs. A measuring instrument, not a client: one cleartext connection, the
 * transport's request headers for a call without metadata, one uncompressed message each way, and calls beyond the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS wait for a slot. Every response's `:status`, `grpc-status` and
 * message framing are checked.
 */
import type { IncomingHttpHeaders } from "node:http2";
import { connect } from "node:net";
import { requestHeaders } from "../src/transport/http2/request-headers.js";
import {
  ClientConnection,
  type ConnectionListener,
  defaultConnectionSettings,
} from "../src/transport/http2/wire/client-connection.js";
import type { StreamSink } from "../src/transport/http2/wire/client-stream.js";

export class FrameFloorClient implements ConnectionListener {
  readonly #connection: ClientConnection;
  readonly #fields: string[];
  /** Calls waiting for the server's SETTINGS or for a stream slot, in order. */
  #waiting: FloorCall[] = [];
  #failure: Error | undefined;

  constructor(port: number, path: string) {
    // The transport's own request headers for a call with no metadata and no deadline.
    this.#fields = requestHeaders(path, undefined, undefined);
    const authority = `127.0.0.1:${port}`;
    this.#connection = new ClientConnection(
      connect(port, "127.0.0.1"),
      "http",
      authority,
      defaultConnectionSettings,
      this,
    );
  }

  /** One unary call: `message` (already serialized) in, the reply's serialized message out. */
  call(message: Uint8Array): Promise<Buffer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const frame = Buffer.allocUnsafe(5 + message.length);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      const call = new FloorCall(frame, resolve, reject, this);
      if (this.#hasRoom()) this.#open(call);
      else this.#waiting.push(call);
    });
  }

  close(): void {
    this.#connection.destroy();
  }

  /** A call ended: the oldest waiting call takes its slot. */
  ended(): void {
    const next = this.#hasRoom() ? this.#waiting.shift() : undefined;
    if (next !== undefined) this.#open(next);
  }

  #hasRoom(): boolean {
    const connection = this.#connection;
    return connection.open && connection.streamCount < connection.maxConcurrentStreams;
  }

  #open(call: FloorCall): void {
    this.#connection.request(this.#fields, call).end(call.frame);
  }

  // ConnectionListener.
  settingsArrived(): void {
    while (this.#waiting.length > 0 && this.#hasRoom())
      this.#open(this.#waiting.shift() as FloorCall);
  }

  goawayArrived(code: number): void {
    this.#fail(new Error(`GOAWAY with code ${code}`));
  }

  failed(error: Error): void {
    this.#fail(error);
  }

  closed(): void {
    this.#fail(new Error("connection closed"));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const call of waiting) call.reject(error);
  }
}

/** One call's stream: what arrived, checked when the stream closes. */
class FloorCall implements StreamSink {
  #headers: IncomingHttpHeaders | undefined;
  #trailers: IncomingHttpHeaders | undefined;
  readonly #chunks: Buffer[] = [];

  constructor(
    readonly frame: Buffer,
    readonly resolve: (message: Buffer) => void,
    readonly reject: (error: Error) => void,
    private readonly client: FrameFloorClient,
  ) {}

  responseArrived(headers: IncomingHttpHeaders): void {
    this.#headers = headers;
  }

  dataArrived(chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  trailersArrived(headers: IncomingHttpHeaders): void {
    this.#trailers = headers;
  }

  drained(): void {}

  closed(): void {
    this.client.ended();
    const headers = this.#headers;
    if (headers?.[":status"] !== "200") {
      this.reject(new Error(`HTTP status ${String(headers?.[":status"])}`));
      return;
    }
    // A trailers-only answer carries its status in the headers.
    const status = this.#trailers ?? (headers["grpc-status"] !== undefined ? headers : undefined);
    if (status === undefined) {
      this.reject(new Error("the stream ended without trailers"));
      return;
    }
    if (status["grpc-status"] !== "0") {
      const message = String(status["grpc-message"] ?? "");
      this.reject(new Error(`grpc-status ${String(status["grpc-status"])}: ${message}`));
      return;
    }
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
      this.reject(new Error("the response is not exactly one uncompressed message"));
      return;
    }
    this.resolve(body.subarray(5));
  }
}
