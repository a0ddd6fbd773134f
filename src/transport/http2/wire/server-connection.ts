/**
 * The server side of one HTTP/2 connection (RFC 9113), framed by hand on a `node:net` or
 * `node:tls` socket whose client preface has been seen (the caller sniffs it and unshifts it).
 * Written by hand for the gateway, whose every call is one inbound HTTP/2 request: node:http2's
 * server wraps each request in an Http2Stream (a Duplex), its header objects and events, and
 * those were the gateway's largest cost left (README, "Gateway" → "Where the time goes"). No
 * kept npm package serves HTTP/2 frames in JavaScript.
 *
 * What it does, as RFC 9113 asks of a server facing untrusted clients:
 * - checks the preface and that the first frame is SETTINGS; sends its own SETTINGS
 *   (MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_HEADER_LIST_SIZE) and acknowledges the
 *   client's, applying its window and frame size;
 * - decodes each request header block (./hpack-decoder.ts) and checks it (§8.3.1): the four
 *   pseudo-headers, in front, once each; lower-case token names; no NUL, CR or LF in a value;
 *   no connection-specific fields.
 *   A malformed request is reset (PROTOCOL_ERROR); one over the header-list limit is
 *   answered 431; a stream over MAX_CONCURRENT_STREAMS is refused (REFUSED_STREAM);
 * - flow control both ways: a request body's credit goes back as it is read, so an unread body
 *   holds at most one stream window; DATA waits for the client's windows and for the socket;
 *   DATA must add up to the request's content-length;
 * - RST_STREAM both ways (a client's reset cancels the stream's answer), PING, GOAWAY both ways
 *   (`close()` sends GOAWAY, lets the open streams finish, then ends the socket);
 * - limits against the known HTTP/2 floods: stream resets, refused streams and empty frames
 *   together may come at most `abuseBudget` times a second (rapid reset, CVE-2023-44487;
 *   empty frames, CVE-2019-9518), a header block may not grow past twice the list limit
 *   across CONTINUATION frames (CVE-2024-27316), and a client that makes the server queue
 *   control replies (PING, SETTINGS acknowledgements) it does not read is dropped once they
 *   pass `controlBacklogBytes` (CVE-2019-9512, -9515). Each ends the connection with GOAWAY
 *   ENHANCE_YOUR_CALM.
 * - frames of one turn of the event loop go out in one write (setImmediate), or as soon as
 *   4 KiB wait, as on the client side.
 *
 * Not done: trailers on responses (the gateway's protocols carry none over HTTP/2: Connect and
 * gRPC-Web end in the body), server push, priorities (PRIORITY is read and ignored), an idle
 * timeout (node:http2's server has none by default either).
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { Socket } from "node:net";
import { FrameOutbox } from "./frame-outbox.js";
import { FrameReader } from "./frame-reader.js";
import {
  defaultMaxFrame,
  defaultWindow,
  fieldProblem,
  flag,
  frame,
  frameHeader,
  goawayFrame,
  h2Error,
  headerFragment,
  maxWindow,
  noPayload,
  preface,
  setting,
  u32,
  unpadded,
} from "./frames.js";
import { type HeaderList, HeaderListTooLarge, HpackDecoder } from "./hpack-decoder.js";
import { encodeHeaderBlock } from "./hpack-encoder.js";
import { ServerStream, type ServerStreamHost } from "./server-stream.js";

/** This side's SETTINGS and limits; `defaultServerSettings` gives each default and why. */
export interface ServerConnectionSettings {
  readonly maxConcurrentStreams: number;
  readonly streamWindow: number;
  readonly connectionWindow: number;
  readonly maxHeaderListBytes: number;
  readonly abuseBudget: number;
  readonly controlBacklogBytes: number;
}

/**
 * Defaults for a server facing the internet: 100 streams at once (what nghttp2 and most
 * servers advertise); 256 KiB a stream and 1 MiB for the connection, so a connection's unread
 * request bodies hold at most 1 MiB; header lists up to 16 KiB; 200 resets, refused streams or
 * empty frames a second (a browser cancels a few); 1 MiB of unread control replies.
 */
export const defaultServerSettings: ServerConnectionSettings = {
  maxConcurrentStreams: 100,
  streamWindow: 256 * 1024,
  connectionWindow: 1024 * 1024,
  maxHeaderListBytes: 16 * 1024,
  abuseBudget: 200,
  controlBacklogBytes: 1024 * 1024,
};

/** What a connection tells its owner. */
export interface ServerConnectionListener {
  /** A request's header block arrived (its body may follow): the stream is the owner's to answer. */
  stream(stream: ServerStream): void;
  /** The connection and its socket are gone. */
  closed(): void;
}

const endGraceMs = 1_000;
const maxReceiveFrame = defaultMaxFrame;
const requiredPseudo = [":method", ":scheme", ":path"] as const;

interface PartialBlock {
  readonly id: number;
  readonly endStream: boolean;
  readonly fragments: Buffer[];
  bytes: number;
}

export class ServerConnection implements ServerStreamHost {
  /** The socket is gone or going; every stream is closed. */
  destroyed = false;
  /** GOAWAY sent: no new streams; the connection ends once the open ones do. */
  closing = false;
  readonly #socket: Socket;
  readonly #listener: ServerConnectionListener;
  readonly #settings: ServerConnectionSettings;
  readonly #streams = new Map<number, ServerStream>();
  readonly #decoder: HpackDecoder;
  readonly #peer: string;
  #lastId = 0;
  #prefaceSeen = false;
  #settingsSeen = false;
  readonly #out: FrameOutbox;
  #blocked = new Set<ServerStream>();
  #sendWindow = defaultWindow;
  #peerStreamWindow = defaultWindow;
  #peerMaxFrame = defaultMaxFrame;
  #receiveWindow: number;
  #unreturned = 0;
  readonly #reader: FrameReader;
  /** The start of the client preface, while it is not all here. */
  #prefaceBytes: Buffer | undefined;
  #partial: PartialBlock | undefined;
  #abuseWindowStart = 0;
  #abuseCount = 0;
  #closedNotified = false;

  constructor(
    socket: Socket,
    settings: ServerConnectionSettings,
    listener: ServerConnectionListener,
  ) {
    this.#socket = socket;
    this.#listener = listener;
    this.#settings = settings;
    this.#decoder = new HpackDecoder(4096, settings.maxHeaderListBytes);
    this.#receiveWindow = settings.connectionWindow;
    this.#out = new FrameOutbox(socket, () => this.#unblock());
    this.#reader = new FrameReader(
      maxReceiveFrame,
      (type, flags, id, payload) => this.#frame(type, flags, id, payload),
      (length) => this.#connectionError(h2Error.frameSize, `a frame of ${length} bytes`),
      () => this.destroyed,
    );
    this.#peer = `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.#socketClosed());
    const ours = Buffer.allocUnsafe(18);
    ours.writeUInt16BE(setting.maxConcurrentStreams, 0);
    ours.writeUInt32BE(settings.maxConcurrentStreams, 2);
    ours.writeUInt16BE(setting.initialWindowSize, 6);
    ours.writeUInt32BE(settings.streamWindow, 8);
    ours.writeUInt16BE(setting.maxHeaderListSize, 12);
    ours.writeUInt32BE(settings.maxHeaderListBytes, 14);
    this.#out.frame(frame.settings, 0, 0, ours);
    if (settings.connectionWindow > defaultWindow) {
      this.#out.frame(frame.windowUpdate, 0, 0, u32(settings.connectionWindow - defaultWindow));
    }
    socket.resume();
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** GOAWAY (no error): no new streams; once the open ones end, the socket closes. */
  close(): void {
    if (this.destroyed || this.closing) return;
    this.closing = true;
    this.#out.queue(goawayFrame(h2Error.noError, "", this.#lastId));
    if (this.#streams.size === 0) this.#end(noPayload);
  }

  /** Closes now: every open stream is aborted. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    this.#closeAll();
    this.#socket.destroy();
  }

  // ServerStreamHost.

  sendHeaders(stream: ServerStream, fields: readonly string[], endStream: boolean): void {
    this.#out.headerBlock(
      encodeHeaderBlock(fields, noPayload),
      stream.id,
      this.#peerMaxFrame,
      endStream,
    );
    if (endStream) {
      stream.endRequested = true;
      this.#localEnded(stream);
    }
  }

  /** Frames what `stream` has pending, as far as the windows and the socket allow. */
  flush(stream: ServerStream): void {
    while (stream.pendingBytes > 0) {
      const allowance = Math.min(this.#sendWindow, stream.sendWindow, this.#peerMaxFrame);
      if (allowance <= 0 || this.#out.blocked) {
        this.#blocked.add(stream);
        return;
      }
      const size = Math.min(allowance, stream.pendingBytes);
      const last = stream.endRequested && size === stream.pendingBytes;
      this.#sendWindow -= size;
      stream.sendWindow -= size;
      stream.pendingBytes -= size;
      this.#out.data(stream.id, stream.pending, size, last);
      if (last) {
        this.#blocked.delete(stream);
        this.#localEnded(stream);
        return;
      }
    }
    this.#blocked.delete(stream);
    if (stream.endRequested && !stream.localEnded) {
      this.#out.queue(frameHeader(0, frame.data, flag.endStream, stream.id));
      this.#localEnded(stream);
      return;
    }
    stream.framed();
  }

  reset(stream: ServerStream, code: number): void {
    if (stream.closed) return;
    this.#out.frame(frame.rstStream, 0, stream.id, u32(code));
    if (!stream.localEnded) stream.aborted = true;
    this.#closeStream(stream);
  }

  /** The owner read `bytes` of the body: the stream's credit goes back in halves of its window. */
  consumed(stream: ServerStream, bytes: number): void {
    if (stream.remoteEnded || bytes === 0) return;
    stream.unreturned += bytes;
    if (stream.unreturned >= this.#settings.streamWindow / 2) {
      this.#out.frame(frame.windowUpdate, 0, stream.id, u32(stream.unreturned));
      stream.receiveWindow += stream.unreturned;
      stream.unreturned = 0;
    }
  }

  // Reading.

  /** Checks the client preface, then hands every byte after it to the frame reader. */
  #read(chunk: Buffer): void {
    if (this.#prefaceSeen) {
      this.#reader.read(chunk);
      return;
    }
    let buffer = chunk;
    const held = this.#prefaceBytes;
    if (held !== undefined) {
      buffer = Buffer.concat([held, chunk]);
      this.#prefaceBytes = undefined;
    }
    if (buffer.length < preface.length) {
      if (!preface.subarray(0, buffer.length).equals(buffer)) this.destroy();
      else this.#prefaceBytes = buffer;
      return;
    }
    if (!buffer.subarray(0, preface.length).equals(preface)) {
      this.destroy();
      return;
    }
    this.#prefaceSeen = true;
    this.#reader.read(buffer.subarray(preface.length));
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#partial !== undefined && type !== frame.continuation) {
      this.#connectionError(h2Error.protocol, "a frame between HEADERS and its CONTINUATION");
      return;
    }
    if (!this.#settingsSeen && type !== frame.settings) {
      this.#connectionError(h2Error.protocol, "the client's first frame is not SETTINGS");
      return;
    }
    switch (type) {
      case frame.data:
        this.#data(flags, id, payload);
        return;
      case frame.headers:
        this.#headers(flags, id, payload);
        return;
      case frame.continuation:
        this.#continuation(flags, id, payload);
        return;
      case frame.rstStream:
        this.#rstStream(id, payload);
        return;
      case frame.settings:
        this.#peerSettings(flags, id, payload);
        return;
      case frame.ping:
        this.#ping(flags, id, payload);
        return;
      case frame.goaway:
        if (id !== 0) this.#connectionError(h2Error.protocol, "GOAWAY on a stream");
        else this.close();
        return;
      case frame.windowUpdate:
        this.#windowUpdate(id, payload);
        return;
      case frame.pushPromise:
        this.#connectionError(h2Error.protocol, "PUSH_PROMISE from a client");
        return;
      case frame.priority:
        if (id === 0) this.#connectionError(h2Error.protocol, "PRIORITY on stream 0");
        else if (payload.length !== 5)
          this.#connectionError(h2Error.frameSize, "PRIORITY not 5 bytes");
        return;
      default:
        // §4.1: unknown frame types are ignored.
        return;
    }
  }

  /**
   * Counts one reset, refused stream or empty frame; past the budget for this second the
   * client is flooding, and the connection ends. Returns false then.
   */
  #spend(what: string): boolean {
    const now = Date.now();
    if (now - this.#abuseWindowStart >= 1000) {
      this.#abuseWindowStart = now;
      this.#abuseCount = 0;
    }
    if (++this.#abuseCount <= this.#settings.abuseBudget) return true;
    this.#connectionError(h2Error.enhanceYourCalm, `too many ${what}`);
    return false;
  }

  #data(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.#connectionError(h2Error.protocol, "DATA on stream 0");
      return;
    }
    const length = payload.length;
    this.#receiveWindow -= length;
    if (this.#receiveWindow < 0) {
      this.#connectionError(h2Error.flowControl, "DATA beyond the connection's window");
      return;
    }
    // The connection's credit goes back as data arrives: each stream's window bounds what an
    // unread body holds.
    this.#unreturned += length;
    if (this.#unreturned >= this.#settings.connectionWindow / 2) {
      this.#out.frame(frame.windowUpdate, 0, 0, u32(this.#unreturned));
      this.#receiveWindow += this.#unreturned;
      this.#unreturned = 0;
    }
    const end = (flags & flag.endStream) !== 0;
    if (length === 0 && !end && !this.#spend("empty frames")) return;
    const stream = this.#streamFor(id, "DATA");
    if (stream === undefined) return;
    const body = flags & flag.padded ? unpadded(payload) : payload;
    if (body === undefined) {
      this.#connectionError(h2Error.protocol, "DATA padding longer than the frame");
      return;
    }
    if (stream.remoteEnded) {
      this.reset(stream, h2Error.streamClosed);
      return;
    }
    stream.receiveWindow -= length;
    if (stream.receiveWindow < 0) {
      this.reset(stream, h2Error.flowControl);
      return;
    }
    stream.receivedLength += body.length;
    const expected = stream.expectedLength;
    if (
      expected >= 0 &&
      (stream.receivedLength > expected || (end && stream.receivedLength !== expected))
    ) {
      // §8.1.1: a body that disagrees with its content-length is malformed.
      this.reset(stream, h2Error.protocol);
      return;
    }
    if (body.length > 0) stream.arrived(body);
    if (end && !stream.closed) this.#remoteEnded(stream);
  }

  #headers(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || id % 2 === 0) {
      this.#connectionError(h2Error.protocol, `HEADERS on stream ${id}`);
      return;
    }
    const fragment = headerFragment(flags, payload);
    if (!Buffer.isBuffer(fragment)) {
      this.#connectionError(fragment.code, fragment.message);
      return;
    }
    const endStream = (flags & flag.endStream) !== 0;
    if (flags & flag.endHeaders) {
      this.#headerBlock(id, endStream, fragment);
      return;
    }
    this.#partial = { id, endStream, fragments: [fragment], bytes: fragment.length };
  }

  #continuation(flags: number, id: number, payload: Buffer): void {
    const partial = this.#partial;
    if (partial === undefined || partial.id !== id) {
      this.#connectionError(h2Error.protocol, "CONTINUATION without its HEADERS");
      return;
    }
    if (payload.length === 0 && !(flags & flag.endHeaders) && !this.#spend("empty frames")) return;
    partial.fragments.push(payload);
    partial.bytes += payload.length;
    // A block that large cannot decode under the list limit and would only cost memory.
    if (partial.bytes > 2 * this.#settings.maxHeaderListBytes) {
      this.#connectionError(h2Error.enhanceYourCalm, "a header block far over the list limit");
      return;
    }
    if (!(flags & flag.endHeaders)) return;
    this.#partial = undefined;
    this.#headerBlock(partial.id, partial.endStream, Buffer.concat(partial.fragments));
  }

  /** A whole header block: decoded whatever its stream (the table is the connection's). */
  #headerBlock(id: number, endStream: boolean, block: Buffer): void {
    let fields: HeaderList | undefined;
    let tooLarge = false;
    try {
      fields = this.#decoder.decode(block);
    } catch (error) {
      if (!(error instanceof HeaderListTooLarge)) {
        this.#connectionError(h2Error.compression, `header block: ${(error as Error).message}`);
        return;
      }
      tooLarge = true;
    }
    const open = this.#streams.get(id);
    if (open !== undefined) {
      // Trailers: they must end the request; their fields are not read.
      if (open.remoteEnded) {
        this.reset(open, h2Error.streamClosed);
      } else if (!endStream) {
        this.reset(open, h2Error.protocol);
      } else if (!open.closed) {
        this.#remoteEnded(open);
      }
      return;
    }
    // A stream this side closed already (reset, refused, or answered in full): the client's
    // trailers may still be on their way (§5.1: frames after RST_STREAM are ignored).
    if (id <= this.#lastId) return;
    this.#lastId = id;
    if (this.closing) return;
    if (this.#streams.size >= this.#settings.maxConcurrentStreams) {
      if (this.#spend("refused streams"))
        this.#out.frame(frame.rstStream, 0, id, u32(h2Error.refusedStream));
      return;
    }
    if (tooLarge || fields === undefined) {
      // 431, as node:http2 answers: the client learns why, and the connection goes on.
      const stream = this.#open(id, Object.create(null), endStream);
      stream.respond(431, [], true);
      return;
    }
    const headers = requestHeaders(fields);
    if (typeof headers === "string") {
      this.#out.frame(frame.rstStream, 0, id, u32(h2Error.protocol));
      return;
    }
    const stream = this.#open(id, headers, endStream);
    if (stream.expectedLength > 0 && endStream) {
      this.reset(stream, h2Error.protocol);
      return;
    }
    this.#listener.stream(stream);
  }

  #open(id: number, headers: IncomingHttpHeaders, endStream: boolean): ServerStream {
    const stream = new ServerStream(
      id,
      headers,
      this,
      this.#peerStreamWindow,
      this.#settings.streamWindow,
    );
    stream.peer = this.#peer;
    stream.remoteEnded = endStream;
    this.#streams.set(id, stream);
    return stream;
  }

  /** The open stream a frame is for; undefined for a closed one, a connection error for an idle one. */
  #streamFor(id: number, what: string): ServerStream | undefined {
    const stream = this.#streams.get(id);
    if (stream !== undefined) return stream;
    if (id > this.#lastId) {
      this.#connectionError(h2Error.protocol, `${what} on idle stream ${id}`);
    }
    return undefined;
  }

  #remoteEnded(stream: ServerStream): void {
    stream.ended();
    if (stream.localEnded && !stream.closed) this.#closeStream(stream);
  }

  #localEnded(stream: ServerStream): void {
    stream.localEnded = true;
    if (stream.remoteEnded) {
      this.#closeStream(stream);
      return;
    }
    // §8.1: the answer is complete before the request is; the rest of it is not wanted.
    this.#out.frame(frame.rstStream, 0, stream.id, u32(h2Error.noError));
    this.#closeStream(stream);
  }

  #rstStream(id: number, payload: Buffer): void {
    if (id === 0) {
      this.#connectionError(h2Error.protocol, "RST_STREAM on stream 0");
      return;
    }
    if (payload.length !== 4) {
      this.#connectionError(h2Error.frameSize, "RST_STREAM not 4 bytes");
      return;
    }
    if (!this.#spend("stream resets")) return;
    const stream = this.#streamFor(id, "RST_STREAM");
    if (stream === undefined) return;
    stream.aborted = true;
    this.#closeStream(stream);
  }

  #peerSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.#connectionError(h2Error.protocol, "SETTINGS on a stream");
      return;
    }
    if (flags & flag.ack) {
      if (payload.length !== 0)
        this.#connectionError(h2Error.frameSize, "SETTINGS ACK with a body");
      return;
    }
    if (payload.length % 6 !== 0) {
      this.#connectionError(h2Error.frameSize, "SETTINGS not a multiple of 6 bytes");
      return;
    }
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (key) {
        case setting.enablePush:
          if (value > 1) {
            this.#connectionError(h2Error.protocol, `SETTINGS_ENABLE_PUSH ${value}`);
            return;
          }
          break;
        case setting.initialWindowSize: {
          if (value > maxWindow) {
            this.#connectionError(h2Error.flowControl, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
            return;
          }
          const change = value - this.#peerStreamWindow;
          this.#peerStreamWindow = value;
          for (const stream of this.#streams.values()) stream.sendWindow += change;
          break;
        }
        case setting.maxFrameSize:
          if (value < defaultMaxFrame || value > 2 ** 24 - 1) {
            this.#connectionError(h2Error.protocol, `SETTINGS_MAX_FRAME_SIZE ${value}`);
            return;
          }
          this.#peerMaxFrame = value;
          break;
        default:
          // HEADER_TABLE_SIZE binds an encoder that never indexes; the rest concern a client.
          break;
      }
    }
    this.#settingsSeen = true;
    this.#queueControl(frame.settings, flag.ack, noPayload);
    this.#unblock();
  }

  #ping(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.#connectionError(h2Error.protocol, "PING on a stream");
      return;
    }
    if (payload.length !== 8) {
      this.#connectionError(h2Error.frameSize, "PING not 8 bytes");
      return;
    }
    if (flags & flag.ack) return;
    this.#queueControl(frame.ping, flag.ack, Buffer.from(payload));
  }

  #windowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.#connectionError(h2Error.frameSize, "WINDOW_UPDATE not 4 bytes");
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
    if (id === 0) {
      if (increment === 0) {
        this.#connectionError(h2Error.protocol, "WINDOW_UPDATE of 0 on the connection");
        return;
      }
      this.#sendWindow += increment;
      if (this.#sendWindow > maxWindow) {
        this.#connectionError(h2Error.flowControl, "the connection's window above 2^31 - 1");
        return;
      }
      this.#unblock();
      return;
    }
    const stream = this.#streamFor(id, "WINDOW_UPDATE");
    if (stream === undefined) return;
    if (increment === 0) {
      this.reset(stream, h2Error.protocol);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > maxWindow) {
      this.reset(stream, h2Error.flowControl);
      return;
    }
    if (stream.pendingBytes > 0) this.flush(stream);
  }

  // Closing.

  #closeStream(stream: ServerStream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.pending = [];
    stream.pendingBytes = 0;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    stream.onClose?.(stream);
    if (this.closing && !this.destroyed && this.#streams.size === 0) this.#end(noPayload);
  }

  #closeAll(): void {
    for (const stream of [...this.#streams.values()]) {
      if (!stream.localEnded) stream.aborted = true;
      this.#closeStream(stream);
    }
    this.#blocked.clear();
  }

  /** The client broke the protocol: GOAWAY with `code`, and every stream is aborted. */
  #connectionError(code: number, message: string): void {
    if (this.destroyed) return;
    this.closing = true;
    this.destroyed = true;
    this.#closeAll();
    this.#end(goawayFrame(code, message, this.#lastId));
  }

  /**
   * Writes what is queued and `last`, then closes the socket once they are out, or after a
   * second if the peer reads nothing (so the connection always ends).
   */
  #end(last: Buffer): void {
    this.destroyed = true;
    this.#out.write();
    const socket = this.#socket;
    if (socket.destroyed) return;
    socket.end(last);
    socket.once("finish", () => socket.destroy());
    setTimeout(destroySocket, endGraceMs, socket).unref();
  }

  #socketClosed(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      this.closing = true;
      this.#closeAll();
    }
    if (this.#closedNotified) return;
    this.#closedNotified = true;
    this.#listener.closed();
  }

  // Writing.

  #unblock(): void {
    if (this.#blocked.size === 0) return;
    for (const stream of [...this.#blocked]) {
      if (this.#sendWindow <= 0 || this.#out.blocked) return;
      this.flush(stream);
    }
  }

  /** A reply the client asked for (a PING or SETTINGS ack): dropped past the backlog bound. */
  #queueControl(type: number, flags: number, payload: Buffer): void {
    if (this.#socket.writableLength + this.#out.bytes > this.#settings.controlBacklogBytes) {
      this.#connectionError(h2Error.enhanceYourCalm, "control frames not read");
      this.#socket.destroy();
      return;
    }
    this.#out.frame(type, flags, 0, payload);
  }
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/**
 * A request's header fields as one object, as node:http2 gives them (a repeated field joined
 * with ", ", cookies with "; "), or what makes the request malformed (§8.3.1).
 */
function requestHeaders(fields: HeaderList): IncomingHttpHeaders | string {
  const headers: IncomingHttpHeaders = Object.create(null);
  let regular = false;
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `${name} after a regular field`;
      if (name !== ":method" && name !== ":scheme" && name !== ":path" && name !== ":authority")
        return `pseudo-header ${name}`;
      if (headers[name] !== undefined) return `two ${name} fields`;
      if (value === "") return `empty ${name}`;
      headers[name] = value;
      continue;
    }
    regular = true;
    const problem = fieldProblem(name, value);
    if (problem !== undefined) return problem;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (name === "cookie") headers[name] = `${previous}; ${value}`;
    else headers[name] = `${previous}, ${value}`;
  }
  for (const name of requiredPseudo) if (headers[name] === undefined) return `no ${name}`;
  if (headers[":method"] === "CONNECT") return "CONNECT";
  if (headers.host !== undefined && headers[":authority"] === undefined)
    headers[":authority"] = headers.host as string;
  return headers;
}
