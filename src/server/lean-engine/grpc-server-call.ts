import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, type DescMessage, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { runWithCallContext } from "../../context/index.js";
import { encodeGrpcMessage } from "../../transport/grpc-message.js";
import { createGrpcFrameReader, type GrpcFrame } from "./grpc-frame-reader.js";
import { appendCorrelationId, callOf, ignore, LeanCall, type LeanCallInit } from "./lean-call.js";
import { createMessageQueue, type MessageQueue } from "./message-queue.js";
import { respondRaw } from "./respond-raw.js";

/** What one gRPC call needs beyond what every lean call needs. */
export interface GrpcCallInit extends LeanCallInit {
  /** "gzip" when the request messages may be compressed, else undefined. */
  readonly encoding: "gzip" | undefined;
  /** The client accepts gzip responses (grpc-accept-encoding): large messages are compressed. */
  readonly acceptsGzip: boolean;
  /**
   * The client spoke of message encodings (grpc-encoding or grpc-accept-encoding): the response
   * tells it ours. A client that names none does not compress, so the header would be wasted.
   */
  readonly negotiatesEncoding: boolean;
}

const contentType = "application/grpc";
// Shared by every successful call whose handler set no trailers (node:http2 only reads it).
const okTrailers: OutgoingHttpHeaders = Object.freeze({ "grpc-status": "0" });
const acceptEncoding = "gzip,identity";
// Pause the request stream while this many messages wait for a streaming handler.
const queueHighWater = 16;
// Smaller messages are sent uncompressed even to gzip-accepting clients (as connect-node's
// compressMinBytes default): compressing them costs more CPU than the bytes it saves.
const compressMinBytes = 1024;

/**
 * One gRPC call on the lean engine, from request headers to trailers. Unary and
 * server-streaming requests are read without any stream pipeline: chunks → frames → one decode
 * → handler → one encode → respond + end + trailers. Client- and bidi-streaming requests feed a
 * small queue. The call ends exactly once (`done`), whichever comes first: the response, an
 * error, the deadline, or the client's RST_STREAM.
 */
export class GrpcServerCall extends LeanCall<GrpcCallInit> {
  #headersSent = false;
  #output: AsyncIterator<unknown> | undefined;

  constructor(init: GrpcCallInit) {
    super(init, "grpc");
  }

  start(): void {
    const { route } = this.init;
    this.watch();
    const kind = route.method.methodKind;
    if (kind === "unary" || kind === "server_streaming") this.#readSingle();
    else this.#readStream();
  }

  /** Ends the call with an error: trailers-only if nothing was sent yet, else in the trailers. */
  override fail(reason: unknown): void {
    if (this.done) return;
    const error = ConnectError.from(reason);
    this.finish(error.code);
    const { stream } = this.init;
    if (!stream.destroyed && !stream.closed) {
      const trailers = errorTrailers(error);
      this.context.copyResponseTrailer(trailers);
      // The client may still be sending (an oversized body, a bidi stream): once the status is
      // on its way, stop reading with RST_STREAM(NO_ERROR), as gRPC servers do. Never before:
      // a reset sent ahead of the trailers would lose the status.
      const stopReading = () => {
        if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
      };
      if (!this.#headersSent) {
        this.#headersSent = true;
        const headers = this.#responseHeaders(false);
        for (const [name, value] of Object.entries(trailers)) {
          if (value !== undefined) headers.push(name, String(value));
        }
        respondRaw(stream, headers, { endStream: true });
        stopReading();
      } else {
        this.#endWithTrailers(trailers, undefined, stopReading);
      }
    }
    this.context.abort(error);
    this.#stopOutput();
  }

  // Unary fast path: gather the chunks (usually one) and frame them once at the end. The state
  // lives on the call and the listeners are shared: no closure per call.
  #first: Buffer | undefined;
  #more: Buffer[] | undefined;
  #received = 0;
  #checked = false;

  #readSingle(): void {
    const { stream } = this.init;
    stream.on("data", onSingleData);
    stream.on("end", onSingleEnd);
  }

  /** A chunk of a unary or server-streaming request (listener: `onSingleData`). */
  takeChunk(chunk: Buffer): void {
    if (this.done) return;
    this.#received += chunk.length;
    const first = this.#first;
    if (first === undefined) this.#first = chunk;
    else if (this.#more) this.#more.push(chunk);
    else this.#more = [chunk];
    if (!this.#checked && this.#received >= 5) {
      this.#checked = true;
      // Refuse an oversized message as soon as its length prefix arrives.
      const head = first === undefined ? chunk : Buffer.concat([first, ...(this.#more ?? [])]);
      const declared = head.readUInt32BE(1);
      const limit = this.init.maxReceiveMessageBytes;
      if (declared > limit) {
        this.fail(
          new ConnectError(
            `message of ${declared} bytes exceeds the limit of ${limit}`,
            Code.ResourceExhausted,
          ),
        );
      }
    }
  }

  /** The whole unary or server-streaming request arrived (listener: `onSingleEnd`). */
  endSingle(): void {
    if (this.done) return;
    try {
      const first = this.#first;
      const body = this.#more ? Buffer.concat([first as Buffer, ...this.#more]) : first;
      this.#invoke(this.#decode(singleFrame(body, this.init.maxReceiveMessageBytes)));
    } catch (error) {
      this.fail(error);
    }
  }

  #readStream(): void {
    const { stream, maxReceiveMessageBytes } = this.init;
    const reader = createGrpcFrameReader(maxReceiveMessageBytes);
    const queue: MessageQueue<unknown> = createMessageQueue(() => {
      if (stream.isPaused()) stream.resume();
    });
    stream.on("data", (chunk: Buffer) => {
      if (this.done) return;
      try {
        for (const frame of reader.push(chunk)) queue.push(this.#decode(frame));
        if (queue.size >= queueHighWater) stream.pause();
      } catch (error) {
        queue.fail(error);
        this.fail(error);
      }
    });
    stream.on("end", () => {
      try {
        reader.end();
        queue.end();
      } catch (error) {
        queue.fail(error);
        this.fail(error);
      }
    });
    this.#invoke(queue);
  }

  #decode(frame: GrpcFrame): unknown {
    let bytes = frame.data;
    if (frame.compressed) {
      if (this.init.encoding !== "gzip") {
        throw new ConnectError(
          "protocol error: compressed message without a negotiated grpc-encoding",
          Code.Internal,
        );
      }
      try {
        bytes = gunzipSync(bytes, { maxOutputLength: this.init.maxReceiveMessageBytes });
      } catch (cause) {
        const tooBig = (cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
        throw new ConnectError(
          tooBig ? "decompressed message exceeds the size limit" : "invalid gzip message",
          tooBig ? Code.ResourceExhausted : Code.Internal,
          undefined,
          undefined,
          cause,
        );
      }
    }
    try {
      return fromBinary(this.init.route.method.input, bytes);
    } catch (cause) {
      throw new ConnectError(
        `cannot decode ${this.init.route.method.input.typeName}`,
        Code.InvalidArgument,
        undefined,
        undefined,
        cause,
      );
    }
  }

  #invoke(input: unknown): void {
    const kind = this.init.route.method.methodKind;
    const streamsOut = kind === "server_streaming" || kind === "bidi_streaming";
    this.invoke(input, streamsOut ? this.#respondStream : this.#respondUnary);
  }

  #respondUnary(output: unknown): void {
    if (this.done) return;
    const { stream } = this.init;
    let frame: Buffer;
    try {
      frame = this.#encode(output);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (stream.destroyed) return;
    this.#headersSent = true;
    respondRaw(stream, this.#responseHeaders(frame[0] === 1), { waitForTrailers: true });
    this.#endOk(frame);
  }

  async #respondStream(source: AsyncIterable<unknown>): Promise<void> {
    const { stream } = this.init;
    const context = this.context;
    try {
      const iterator = runWithCallContext(context, () => source[Symbol.asyncIterator]());
      this.#output = iterator;
      for (;;) {
        const next = await runWithCallContext(context, () => iterator.next());
        if (this.done) return;
        if (next.done) break;
        const frame = this.#encode(next.value);
        if (!this.#headersSent) {
          this.#headersSent = true;
          respondRaw(stream, this.#responseHeaders(this.init.acceptsGzip), {
            waitForTrailers: true,
          });
        }
        if (!stream.write(frame)) await drained(stream);
        if (this.done) return;
      }
      if (!this.#headersSent) {
        this.#headersSent = true;
        respondRaw(stream, this.#responseHeaders(this.init.acceptsGzip), { waitForTrailers: true });
      }
      this.#endOk(undefined);
    } catch (error) {
      this.fail(error);
    }
  }

  #endOk(frame: Buffer | undefined): void {
    let trailers = okTrailers;
    if (this.context.hasResponseTrailer) {
      trailers = { ...okTrailers };
      this.context.copyResponseTrailer(trailers);
    }
    this.finish(0);
    this.#endWithTrailers(trailers, frame);
  }

  #trailers: OutgoingHttpHeaders | undefined;
  #afterTrailers: (() => void) | undefined;

  #endWithTrailers(
    trailers: OutgoingHttpHeaders,
    frame?: Buffer,
    afterTrailers?: () => void,
  ): void {
    const { stream } = this.init;
    this.#trailers = trailers;
    this.#afterTrailers = afterTrailers;
    stream.on("wantTrailers", onWantTrailers);
    if (frame) stream.end(frame);
    else stream.end();
  }

  /** node:http2 asks for the trailers (listener: `onWantTrailers`). */
  sendTrailers(): void {
    this.init.stream.sendTrailers(this.#trailers ?? {});
    // nghttp2 sends the trailers when this callback returns; a reset submitted before that
    // would discard them.
    if (this.#afterTrailers) setImmediate(this.#afterTrailers);
  }

  #encode(output: unknown): Buffer {
    const schema: DescMessage = this.init.route.method.output;
    const message = isMessage(output, schema) ? output : create(schema, output as never);
    let bytes: Uint8Array = toBinary(schema, message);
    let flag = 0;
    if (this.init.acceptsGzip && bytes.length >= compressMinBytes) {
      bytes = gzipSync(bytes);
      flag = 1;
    }
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = flag;
    frame.writeUInt32BE(bytes.length, 1);
    frame.set(bytes, 5);
    return frame;
  }

  /**
   * Raw name/value pairs: node:http2 then builds no header object per response. `grpc-encoding`
   * only when a message may follow compressed: a unary response whose one message went out
   * plain, or a trailers-only one, needs none (one header less to encode and parse per call).
   */
  #responseHeaders(compressed: boolean): string[] {
    const headers = [":status", "200", "content-type", contentType];
    if (this.init.negotiatesEncoding) headers.push("grpc-accept-encoding", acceptEncoding);
    if (compressed) headers.push("grpc-encoding", "gzip");
    this.context.appendResponseHeader(headers);
    appendCorrelationId(headers, this.init.correlationId);
    return headers;
  }

  protected override onCancelled(): void {
    this.#stopOutput();
  }

  #stopOutput(): void {
    const output = this.#output;
    this.#output = undefined;
    const stop = output?.return?.bind(output);
    if (stop) runWithCallContext(this.context, () => stop()).catch(ignore);
  }
}

// Listeners shared by every call, finding theirs on the stream (`this`): no closure per call.
function onSingleData(this: ServerHttp2Stream, chunk: Buffer): void {
  callOf<GrpcServerCall>(this)?.takeChunk(chunk);
}

function onSingleEnd(this: ServerHttp2Stream): void {
  callOf<GrpcServerCall>(this)?.endSingle();
}

function onWantTrailers(this: ServerHttp2Stream): void {
  callOf<GrpcServerCall>(this)?.sendTrailers();
}

/** The one frame of a unary request body; a ConnectError for none, several, or a bad one. */
function singleFrame(body: Buffer | undefined, maxMessageBytes: number): GrpcFrame {
  if (body && body.length >= 5 && (body[0] ?? 2) <= 1 && body.readUInt32BE(1) + 5 === body.length) {
    return { compressed: body[0] === 1, data: body.subarray(5) };
  }
  // Not exactly one well-formed frame: let the frame reader say what is wrong.
  const reader = createGrpcFrameReader(maxMessageBytes);
  const frames = body ? reader.push(body) : [];
  reader.end();
  if (frames.length === 0) {
    throw new ConnectError("protocol error: missing request message", Code.Internal);
  }
  throw new ConnectError("protocol error: more than one request message", Code.Internal);
}

/**
 * The status trailers of an error, grpc-status-details-bin and error metadata included (as
 * Connect writes them), grpc-message encoded as gRPC's spec says (Connect's encodeURIComponent
 * escapes ':' '/' ',', which grpc-js clients then show escaped).
 */
function errorTrailers(error: ConnectError): OutgoingHttpHeaders {
  const trailers: OutgoingHttpHeaders = {};
  for (const [name, value] of setTrailerStatus(new Headers(), error)) trailers[name] = value;
  trailers["grpc-message"] = encodeGrpcMessage(error.rawMessage);
  return trailers;
}

function drained(stream: ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
