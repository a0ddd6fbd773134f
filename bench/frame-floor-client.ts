/**
 * The client suite's floor under node:http2 (bench/suites/client.ts, row `frame_floor`): unary
 * gRPC calls over one cleartext HTTP/2 connection whose frames this module writes and reads
 * itself on a `node:net` socket. It exists to measure what node:http2's client machinery costs
 * per call — its Http2Stream (a Duplex), the AsyncResource and bind of each `request()`, and
 * the header objects and events around them — by doing without it. It is a measuring
 * instrument, not a client: it sends only the request headers of the bench's echo (HPACK
 * literals, never indexed), one message per call, on cleartext only, with no deadline,
 * cancellation or keepalive. What it does do, as any HTTP/2 client must: the preface and
 * SETTINGS; SETTINGS and PING acknowledgements; the server's stream limit (no stream opens
 * before the server's SETTINGS, and calls beyond the limit wait); the connection's send window;
 * WINDOW_UPDATE for what it receives; padded DATA and HEADERS; CONTINUATION; every response
 * header block decoded (src/transport/http2/wire/hpack-decoder.ts, table and Huffman) with
 * `:status` and `grpc-status` checked; RST_STREAM and GOAWAY; and one socket write per tick for
 * all frames queued in it. Hand-written, as a floor must be: no library writes HTTP/2 frames in
 * JavaScript.
 */
import { connect, type Socket } from "node:net";
import { type HeaderList, HpackDecoder } from "../src/transport/http2/wire/hpack-decoder.js";

const frameHeaderBytes = 9;
const type = {
  data: 0,
  headers: 1,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  windowUpdate: 8,
  continuation: 9,
};
const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 };
const defaultWindow = 65_535;
/** What this client grants the server: 1 GiB on the connection, topped up at half. */
const receiveWindow = 2 ** 30;
const settingMaxConcurrentStreams = 3;
const settingInitialWindowSize = 4;

interface PendingCall {
  readonly resolve: (message: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly chunks: Buffer[];
  readonly message: Uint8Array;
  /** The response headers arrived (the next header block is the trailers). */
  responded?: boolean;
}

export class FrameFloorClient {
  readonly #socket: Socket;
  readonly #headerBlock: Buffer;
  readonly #calls = new Map<number, PendingCall>();
  /** Calls beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS, in order. */
  #waiting: PendingCall[] = [];
  #nextStreamId = 1;
  #outbox: Buffer[] = [];
  #flushQueued = false;
  /** DATA frames waiting for the connection's send window. */
  #blocked: Buffer[] = [];
  #sendWindow = defaultWindow;
  #streamWindow = defaultWindow;
  #maxStreams = Number.POSITIVE_INFINITY;
  /**
   * The server's first SETTINGS arrived. Until then no stream opens: its stream limit is not
   * known yet, and streams above it would be refused.
   */
  #peerSettings = false;
  #unacknowledged = 0;
  #inbox: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  readonly #hpack = new HpackDecoder();
  /** A header block waiting for its CONTINUATION frames: stream, END_STREAM, fragments. */
  #partial: { id: number; endStream: boolean; fragments: Buffer[] } | undefined;

  constructor(port: number, path: string) {
    this.#headerBlock = requestHeaderBlock(path, `127.0.0.1:${port}`);
    this.#socket = connect(port, "127.0.0.1");
    this.#socket.setNoDelay(true);
    this.#socket.on("data", (chunk: Buffer) => this.#read(chunk));
    this.#socket.on("error", (error) => this.#fail(error));
    this.#socket.on("close", () => this.#fail(new Error("connection closed")));
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(2, 0); // ENABLE_PUSH = 0
    settings.writeUInt16BE(settingInitialWindowSize, 6);
    settings.writeUInt32BE(receiveWindow, 8);
    this.#queue(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    this.#queue(frame(type.settings, 0, 0, settings));
    // Queued before the socket connects: net.Socket holds writes until then.
    this.#queue(windowUpdate(receiveWindow - defaultWindow));
  }

  /** One unary call: `message` (already serialized) in, the reply's serialized message out. */
  call(message: Uint8Array): Promise<Buffer> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (message.length + 5 > this.#streamWindow) {
      return Promise.reject(new Error("message larger than the server's stream window"));
    }
    return new Promise((resolve, reject) => {
      const call = { resolve, reject, chunks: [], message };
      if (this.#peerSettings && this.#calls.size < this.#maxStreams) this.#open(call);
      else this.#waiting.push(call);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Opens a stream for `call`: its HEADERS and its one DATA frame. */
  #open(call: PendingCall): void {
    const { message } = call;
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const data = Buffer.allocUnsafe(frameHeaderBytes + 5 + message.length);
    writeFrameHeader(data, 5 + message.length, type.data, flag.endStream, id);
    data[frameHeaderBytes] = 0;
    data.writeUInt32BE(message.length, frameHeaderBytes + 1);
    data.set(message, frameHeaderBytes + 5);
    this.#calls.set(id, call);
    this.#queue(frame(type.headers, flag.endHeaders, id, this.#headerBlock));
    this.#sendData(data);
  }

  /** A stream ended: the oldest call waiting for a stream slot (the server's limit) opens. */
  #ended(id: number): PendingCall | undefined {
    const call = this.#calls.get(id);
    if (!call) return undefined;
    this.#calls.delete(id);
    const next = this.#calls.size < this.#maxStreams ? this.#waiting.shift() : undefined;
    if (next) this.#open(next);
    return call;
  }

  #sendData(data: Buffer): void {
    const length = data.length - frameHeaderBytes;
    if (this.#blocked.length > 0 || length > this.#sendWindow) {
      this.#blocked.push(data);
      return;
    }
    this.#sendWindow -= length;
    this.#queue(data);
  }

  #queue(bytes: Buffer): void {
    this.#outbox.push(bytes);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    process.nextTick(() => {
      this.#flushQueued = false;
      const out = this.#outbox;
      this.#outbox = [];
      if (!this.#socket.destroyed)
        this.#socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
    });
  }

  #read(chunk: Buffer): void {
    let buf = this.#inbox.length === 0 ? chunk : Buffer.concat([this.#inbox, chunk]);
    let offset = 0;
    while (buf.length - offset >= frameHeaderBytes) {
      const length = buf.readUIntBE(offset, 3);
      const end = offset + frameHeaderBytes + length;
      if (end > buf.length) break;
      const frameType = buf[offset + 3] as number;
      const flags = buf[offset + 4] as number;
      const id = buf.readUInt32BE(offset + 5) & 0x7fff_ffff;
      this.#onFrame(frameType, flags, id, buf.subarray(offset + frameHeaderBytes, end));
      offset = end;
    }
    buf = buf.subarray(offset);
    this.#inbox = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  #onFrame(frameType: number, flags: number, id: number, payload: Buffer): void {
    if (this.#partial && frameType !== type.continuation) {
      this.#protocolError("a frame between HEADERS and its CONTINUATION");
      return;
    }
    switch (frameType) {
      case type.data: {
        this.#unacknowledged += payload.length;
        if (this.#unacknowledged >= receiveWindow / 2) {
          this.#queue(windowUpdate(this.#unacknowledged));
          this.#unacknowledged = 0;
        }
        const body =
          flags & flag.padded ? payload.subarray(1, payload.length - (payload[0] ?? 0)) : payload;
        this.#calls.get(id)?.chunks.push(body);
        if (flags & flag.endStream) {
          this.#ended(id)?.reject(new Error(`stream ${id} ended without trailers`));
        }
        return;
      }
      case type.headers: {
        let fragment = payload;
        if (flags & flag.padded) {
          fragment = fragment.subarray(1, fragment.length - (fragment[0] ?? 0));
        }
        if (flags & flag.priority) fragment = fragment.subarray(5);
        const partial = { id, endStream: (flags & flag.endStream) !== 0, fragments: [fragment] };
        if (flags & flag.endHeaders) this.#onHeaderBlock(partial);
        else this.#partial = partial;
        return;
      }
      case type.continuation: {
        const partial = this.#partial;
        if (!partial || partial.id !== id) {
          this.#protocolError("CONTINUATION without its HEADERS");
          return;
        }
        partial.fragments.push(payload);
        if (flags & flag.endHeaders) {
          this.#partial = undefined;
          this.#onHeaderBlock(partial);
        }
        return;
      }
      case type.rstStream: {
        const call = this.#ended(id);
        call?.reject(new Error(`stream reset with code ${payload.readUInt32BE(0)}`));
        return;
      }
      case type.settings:
        if (flags & flag.ack) return;
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          const setting = payload.readUInt16BE(at);
          const value = payload.readUInt32BE(at + 2);
          if (setting === settingMaxConcurrentStreams) this.#maxStreams = value;
          if (setting === settingInitialWindowSize) this.#streamWindow = value;
        }
        this.#queue(frame(type.settings, flag.ack, 0, Buffer.alloc(0)));
        this.#peerSettings = true;
        while (this.#waiting.length > 0 && this.#calls.size < this.#maxStreams) {
          this.#open(this.#waiting.shift() as PendingCall);
        }
        return;
      case type.ping:
        if (!(flags & flag.ack)) this.#queue(frame(type.ping, flag.ack, 0, payload));
        return;
      case type.goaway:
        this.#fail(new Error(`GOAWAY with code ${payload.readUInt32BE(4)}`));
        this.#socket.end();
        return;
      case type.windowUpdate:
        if (id === 0) {
          this.#sendWindow += payload.readUInt32BE(0) & 0x7fff_ffff;
          this.#unblock();
        }
        return;
      default:
        // PRIORITY and unknown frame types carry nothing this floor needs.
        return;
    }
  }

  #unblock(): void {
    while (this.#blocked.length > 0) {
      const data = this.#blocked[0] as Buffer;
      const length = data.length - frameHeaderBytes;
      if (length > this.#sendWindow) return;
      this.#blocked.shift();
      this.#sendWindow -= length;
      this.#queue(data);
    }
  }

  /**
   * A whole header block: decoded whatever its stream (the table is the connection's), then
   * the response headers (`:status` 200) or the trailers (`grpc-status` 0) of its call.
   */
  #onHeaderBlock(block: { id: number; endStream: boolean; fragments: Buffer[] }): void {
    let headers: HeaderList;
    try {
      const bytes =
        block.fragments.length === 1
          ? (block.fragments[0] as Buffer)
          : Buffer.concat(block.fragments);
      headers = this.#hpack.decode(bytes);
    } catch (error) {
      this.#protocolError(`header block: ${(error as Error).message}`);
      return;
    }
    const call = this.#calls.get(block.id);
    if (!call) return;
    if (!call.responded) {
      call.responded = true;
      const status = headerValue(headers, ":status");
      if (status !== "200") {
        this.#ended(block.id);
        call.reject(new Error(`HTTP status ${status}`));
        return;
      }
    }
    if (!block.endStream) return;
    const grpcStatus = headerValue(headers, "grpc-status");
    if (grpcStatus !== "0") {
      this.#ended(block.id);
      call.reject(
        new Error(`grpc-status ${grpcStatus}: ${headerValue(headers, "grpc-message") ?? ""}`),
      );
      return;
    }
    this.#finish(block.id);
  }

  #protocolError(message: string): void {
    this.#fail(new Error(message));
    this.#socket.destroy();
  }

  #finish(id: number): void {
    const call = this.#ended(id);
    if (!call) return;
    const body = call.chunks.length === 1 ? (call.chunks[0] as Buffer) : Buffer.concat(call.chunks);
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
      call.reject(new Error(`stream ${id} ended without exactly one uncompressed message`));
      return;
    }
    call.resolve(body.subarray(5));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const call of [...this.#calls.values(), ...this.#waiting]) call.reject(error);
    this.#calls.clear();
    this.#waiting = [];
    this.#blocked = [];
  }
}

function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [key, value] of headers) if (key === name) return value;
  return undefined;
}

/**
 * The request header block, the same for every call: `:method POST` and `:scheme http` from
 * the static table, the rest as literals without indexing (name from the static table where it
 * has one), no Huffman coding.
 */
function requestHeaderBlock(path: string, authority: string): Buffer {
  const parts: Buffer[] = [Buffer.from([0x83, 0x86])]; // indexed: :method POST, :scheme http
  const staticName = (index: number, value: string) => {
    parts.push(Buffer.from(index < 15 ? [index] : [0x0f, index - 15]), literal(value));
  };
  staticName(4, path); // :path
  staticName(1, authority); // :authority
  staticName(31, "application/grpc"); // content-type
  staticName(58, "protomesh-frame-floor/0.1"); // user-agent
  parts.push(Buffer.from([0]), literal("te"), literal("trailers"));
  return Buffer.concat(parts);
}

/** An HPACK string literal, not Huffman-coded; the bench's values are all under 127 bytes. */
function literal(value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (bytes.length >= 127) throw new Error(`header value too long for this floor: ${value}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function frame(frameType: number, flags: number, id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  writeFrameHeader(out, payload.length, frameType, flags, id);
  payload.copy(out, frameHeaderBytes);
  return out;
}

function writeFrameHeader(
  out: Buffer,
  length: number,
  frameType: number,
  flags: number,
  id: number,
) {
  out.writeUIntBE(length, 0, 3);
  out[3] = frameType;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
}

function windowUpdate(increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(type.windowUpdate, 0, 0, payload);
}
