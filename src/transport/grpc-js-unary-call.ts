import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
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
import { fillFromMetadata, metadataFromHeaders } from "./grpc-metadata.js";
import { connectErrorFromStatus } from "./grpc-status-error.js";
import { LazyUnaryResponse } from "./lazy-headers.js";
import type { MethodCodec } from "./method-codec.js";

/** Shared by every send: grpc-js only reads it (no write callback, no flags). */
const noWriteContext = {};

/**
 * Sends one unary call on the channel. It drives grpc-js's call object directly rather than
 * `Client.makeUnaryRequest`, which adds an EventEmitter, an interceptor wrapper and a captured
 * stack trace (`new Error()`) to every call.
 */
export function sendGrpcJsUnary(
  channel: Channel,
  codec: MethodCodec,
  req: UnaryRequest,
  /** Epoch ms, `Infinity` for none. */
  deadline: number,
): Promise<UnaryResponse> {
  return new Promise((resolve, reject) => {
    const signal = req.signal;
    if (signal.aborted) {
      reject(connectErrorFromAbort(signal.reason));
      return;
    }
    let bytes: Buffer;
    let metadata: Metadata;
    let call: GrpcJsCall;
    try {
      bytes = codec.serialize(req.message);
      metadata = metadataFromHeaders(req.header);
      // Last: a call that is created must be started.
      call = createGrpcJsCall(channel, codec, deadline);
    } catch (error) {
      reject(ConnectError.from(error, Code.Internal));
      return;
    }
    const listener = new UnaryListener(call, codec, req, resolve, reject);
    if (signal !== neverAborted) watchAbort(signal, listener);
    call.start(metadata, listener);
    call.sendMessageWithContext(noWriteContext, bytes);
    call.halfClose();
    call.startRead();
  });
}

/** One unary call's state; the same object is grpc-js's listener and the abort target. */
class UnaryListener implements InterceptingListener, AbortTarget {
  private header: Metadata | undefined;
  private message: MessageShape<DescMessage> | undefined;
  private settled = false;

  constructor(
    private readonly call: GrpcJsCall,
    private readonly codec: MethodCodec,
    private readonly req: UnaryRequest,
    private readonly resolve: (res: UnaryResponse) => void,
    private readonly reject: (error: ConnectError) => void,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.header = metadata;
  }

  onReceiveMessage(bytes: Buffer): void {
    if (this.settled) return;
    if (this.message !== undefined) {
      this.call.cancelWithStatus(
        Status.UNIMPLEMENTED,
        "protocol error: received extra output message for unary method",
      );
      return;
    }
    try {
      this.message = this.codec.deserialize(bytes);
    } catch (error) {
      this.call.cancelWithStatus(Status.INTERNAL, `failed to parse the response: ${String(error)}`);
    }
  }

  onReceiveStatus(status: StatusObject): void {
    if (this.settled) return;
    this.settled = true;
    const req = this.req;
    if (req.signal !== neverAborted) unwatchAbort(req.signal, this);
    if (status.code !== Status.OK) {
      this.reject(connectErrorFromStatus(status, this.header));
      return;
    }
    const message = this.message;
    if (message === undefined) {
      this.reject(
        new ConnectError(
          "protocol error: missing output message for unary method",
          Code.Unimplemented,
        ),
      );
      return;
    }
    this.resolve(
      new LazyUnaryResponse(
        req.service,
        req.method,
        message,
        this.header,
        status.metadata,
        fillFromMetadata,
      ) as unknown as UnaryResponse,
    );
  }

  abort(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.call.cancelWithStatus(Status.CANCELLED, "cancelled by the caller");
    this.reject(connectErrorFromAbort(reason));
  }
}
