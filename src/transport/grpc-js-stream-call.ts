import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import {
  type Channel,
  type InterceptingListener,
  type Metadata,
  status as Status,
  type StatusObject,
} from "@grpc/grpc-js";
import { type AbortTarget, neverAborted, unwatchAbort, watchAbort } from "../context/index.js";
import { connectErrorFromAbort } from "./connect-error-from-abort.js";
import { createGrpcJsCall, type GrpcJsCall } from "./grpc-js-call.js";
import { headersFromMetadata, metadataFromHeaders } from "./grpc-metadata.js";
import { connectErrorFromStatus } from "./grpc-status-error.js";
import type { MethodCodec } from "./method-codec.js";

type Message = MessageShape<DescMessage>;

/**
 * Sends one streaming call (server-, client- or bidi-streaming) on the channel. The response
 * resolves when the server's headers arrive; its messages are read one at a time as the caller
 * asks for them, so a slow reader applies HTTP/2 flow control to the server.
 */
export function sendGrpcJsStream(
  channel: Channel,
  codec: MethodCodec,
  req: StreamRequest,
  /** Epoch ms, `Infinity` for none. */
  deadline: number,
): Promise<StreamResponse> {
  return new Promise((resolve, reject) => {
    const signal = req.signal;
    if (signal.aborted) {
      reject(connectErrorFromAbort(signal.reason));
      return;
    }
    let metadata: Metadata;
    let call: GrpcJsCall;
    try {
      metadata = metadataFromHeaders(req.header);
      // Last: a call that is created must be started.
      call = createGrpcJsCall(channel, codec, deadline);
    } catch (error) {
      reject(ConnectError.from(error, Code.Internal));
      return;
    }
    const stream = new StreamListener(call, codec, req, resolve, reject);
    if (signal !== neverAborted) watchAbort(signal, stream);
    call.start(metadata, stream);
    void stream.sendAll(req.message);
  });
}

interface Waiter {
  resolve(result: IteratorResult<Message>): void;
  reject(error: ConnectError): void;
}

/** One streaming call: grpc-js listener, abort target, and the response message iterator. */
class StreamListener implements InterceptingListener, AbortTarget, AsyncIterableIterator<Message> {
  /** Holds at most one message: the next read starts only when the caller asks. */
  private readonly queue: Message[] = [];
  private reading = false;
  private waiter: Waiter | undefined;
  private responded = false;
  private header: Metadata | undefined;
  /** Undefined while open; `true` once finished well, else the error. */
  private end: true | ConnectError | undefined;
  private readonly trailer = new Headers();

  constructor(
    private readonly call: GrpcJsCall,
    private readonly codec: MethodCodec,
    private readonly req: StreamRequest,
    private readonly resolve: (res: StreamResponse) => void,
    private readonly reject: (error: ConnectError) => void,
  ) {}

  /** The caller's request messages while they are still being sent. */
  private input: AsyncIterator<unknown> | undefined;

  /** Sends the request messages, waiting for each write to flush, then half-closes. */
  async sendAll(messages: AsyncIterable<unknown>): Promise<void> {
    const input = messages[Symbol.asyncIterator]();
    this.input = input;
    try {
      for (;;) {
        const next = await input.next();
        if (this.end !== undefined) return;
        if (next.done) break;
        const bytes = this.codec.serialize(this.codec.normalize(next.value));
        await new Promise<void>((written) => {
          this.call.sendMessageWithContext({ callback: () => written() }, bytes);
        });
      }
      this.input = undefined;
      if (this.end === undefined) this.call.halfClose();
    } catch (error) {
      this.input = undefined;
      this.finish(ConnectError.from(error, Code.Internal), Status.INTERNAL);
    }
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.header = metadata;
    this.respond(headersFromMetadata(metadata));
  }

  onReceiveMessage(bytes: Buffer): void {
    this.reading = false;
    if (this.end !== undefined) return;
    let message: Message;
    try {
      message = this.codec.deserialize(bytes);
    } catch (error) {
      this.call.cancelWithStatus(Status.INTERNAL, `failed to parse a response: ${String(error)}`);
      return;
    }
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ value: message, done: false });
    } else {
      this.queue.push(message);
    }
  }

  onReceiveStatus(status: StatusObject): void {
    if (this.end !== undefined) return;
    headersFromMetadata(status.metadata, this.trailer);
    this.settle(status.code === Status.OK ? true : connectErrorFromStatus(status, this.header));
  }

  abort(reason: unknown): void {
    this.finish(connectErrorFromAbort(reason), Status.CANCELLED);
  }

  next(): Promise<IteratorResult<Message>> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve({ value: queued, done: false });
    const end = this.end;
    if (end === true) return Promise.resolve({ value: undefined, done: true });
    if (end !== undefined) return Promise.reject(end);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (!this.reading) {
        this.reading = true;
        this.call.startRead();
      }
    });
  }

  /** The caller stopped reading early: cancel the call so the server stops too. */
  return(): Promise<IteratorResult<Message>> {
    if (this.end === undefined) {
      this.finish(new ConnectError("the caller stopped reading", Code.Canceled), Status.CANCELLED);
    }
    this.end = true;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }

  /** Ends the call from this side, telling grpc-js (and so the server) why. */
  private finish(error: ConnectError, status: Status): void {
    if (this.end !== undefined) return;
    this.settle(error);
    this.call.cancelWithStatus(status, error.rawMessage);
  }

  private settle(end: true | ConnectError): void {
    this.end = end;
    // The call is over: let the caller's request iterable clean up, as Connect's transports do.
    const input = this.input;
    if (input !== undefined) {
      this.input = undefined;
      input.return?.().catch(() => {});
    }
    const signal = this.req.signal;
    if (signal !== neverAborted) unwatchAbort(signal, this);
    if (end !== true && !this.responded) {
      this.responded = true;
      this.reject(end);
      return;
    }
    this.respond(new Headers());
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      if (end === true) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(end);
    }
  }

  private respond(header: Headers): void {
    if (this.responded) return;
    this.responded = true;
    const req = this.req;
    this.resolve({
      stream: true,
      service: req.service,
      method: req.method,
      header,
      trailer: this.trailer,
      message: this,
    });
  }
}
