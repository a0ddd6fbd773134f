import { once } from "node:events";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  isMessage,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  createServiceImplSpec,
  type HandlerContext,
  type MethodImplSpec,
} from "@connectrpc/connect";
import type {
  Metadata,
  Server,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { identityFromCertificate } from "../../auth/index.js";
import {
  type CallObserver,
  correlationIdFromHeaders,
  type MethodObserver,
  type ObservedCall,
} from "../../observe/index.js";
import { headersFromMetadata, metadataFromHeaders } from "../../transport/grpc-metadata.js";
import type { ServiceRegistration } from "../service-registration.js";
import {
  correlationIdKey,
  observedCallKey,
  peerIdentityKey,
  withCallContext,
} from "../with-call-context.js";
import { createGrpcJsServiceDefinition } from "./grpc-js-service-definition.js";
import { statusFromError } from "./grpc-js-status.js";
import { hasHeaders } from "./metadata-headers.js";

/**
 * Serves one Connect-style service implementation on an `@grpc/grpc-js` `Server`: the same
 * `ServiceImpl` the protomesh server runs, with the same `HandlerContext` (headers in, headers
 * and trailers out, a signal aborted on cancel or deadline), all four method kinds, and errors
 * mapped as on the wire (code, message, `grpc-status-details-bin`). Methods the implementation
 * lacks answer UNIMPLEMENTED. Handlers run inside their `CallContext` (correlation id echoed
 * as `x-request-id`, deadline, signal), as on `createServer`. Written by hand: no library adapts Connect handlers to grpc-js.
 */
export function addService(
  server: Server,
  registration: ServiceRegistration,
  options: AddServiceOptions = {},
): void {
  // The same server-side concerns as createServer: handlers run in their inbound call context,
  // and the shared observer counts and logs every call.
  const { service, impl } = withCallContext(registration);
  const spec = createServiceImplSpec(service, impl);
  const handlers: UntypedServiceImplementation = {};
  for (const method of registration.service.methods) {
    const impl = spec.methods[method.localName];
    const observer = options.observer?.forMethod(service.typeName, method.name, "grpc");
    if (impl) handlers[method.name] = handlerFor(registration.service, impl, observer);
  }
  server.addService(createGrpcJsServiceDefinition(registration.service), handlers);
}

export interface AddServiceOptions {
  /** Metrics and access log per call, as `createServer` has; none when omitted. */
  readonly observer?: CallObserver | undefined;
}

/**
 * The reason the context's signal carries once a call has finished normally. One shared
 * instance: Connect's signal fires on completion too, and building an error (or the
 * DOMException `abort()` makes without a reason) per call would cost for nothing.
 */
const finished = new ConnectError("the call has finished", Code.Canceled);

interface CallLike {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  getPath(): string;
  getAuthContext?(): { sslPeerCertificate?: Parameters<typeof identityFromCertificate>[0] };
  sendMetadata(metadata: Metadata): void;
  on(event: "cancelled", listener: () => void): unknown;
}

/** What server-streaming and bidi calls share: a writable end closed with trailers. */
type WritableCall = CallLike &
  NodeJS.EventEmitter & {
    write(message: Message): boolean;
    end(trailers?: Metadata): unknown;
  };

type Controller = HandlerContext & { abort(reason?: unknown): void; observed: ObservedCall };

/** Stands in when no observer is configured. */
const unobserved: ObservedCall = { attach() {}, end() {} };

function startCall(
  service: DescService,
  method: DescMethod,
  call: CallLike & { getPeer(): string },
  observer: MethodObserver | undefined,
): Controller {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const requestHeader = headersFromMetadata(call.metadata);
  // Chosen once so the access log and the handler's call context agree on it.
  const correlationId = correlationIdFromHeaders(requestHeader);
  const observed = observer?.begin(call.getPeer(), correlationId, requestHeader) ?? unobserved;
  // grpc-js reports a certificate only once TLS verified it (`authorized`).
  const peerIdentity = identityFromCertificate(call.getAuthContext?.().sslPeerCertificate);
  const init = {
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: call.getPath(),
    requestHeader,
    contextValues: createContextValues()
      .set(correlationIdKey, correlationId)
      .set(peerIdentityKey, peerIdentity)
      .set(observedCallKey, observed),
  };
  const context = createHandlerContext(
    Number.isFinite(deadlineMs) ? { ...init, timeoutMs: deadlineMs - Date.now() } : init,
  );
  call.on("cancelled", () => {
    observed.end(Code.Canceled);
    if (!context.signal.aborted) {
      context.abort(new ConnectError("the call was cancelled by the client", Code.Canceled));
    }
  });
  return Object.assign(context, { observed });
}

/** Sends the handler's response headers once, if it set any, before the first message. */
function headerSender(call: CallLike, context: HandlerContext): () => void {
  let sent = false;
  return () => {
    if (sent) return;
    sent = true;
    if (hasHeaders(context.responseHeader)) {
      call.sendMetadata(metadataFromHeaders(context.responseHeader));
    }
  };
}

/** The handler's trailers, or undefined when it set none (no per-call Metadata for nothing). */
function trailersOf(context: HandlerContext): Metadata | undefined {
  return hasHeaders(context.responseTrailer)
    ? metadataFromHeaders(context.responseTrailer)
    : undefined;
}

function toMessage(schema: DescMessage, value: MessageInitShape<DescMessage>): Message {
  return isMessage(value, schema) ? value : create(schema, value);
}

function handlerFor(
  service: DescService,
  spec: MethodImplSpec,
  observer: MethodObserver | undefined,
): UntypedHandleCall {
  const { method } = spec;
  switch (spec.kind) {
    case "unary":
      return (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>) => {
        const context = startCall(service, method, call, observer);
        replyOnce(call, context, callback, async () => spec.impl(call.request, context));
      };
    case "client_streaming":
      return (call: ServerReadableStream<Message, Message>, callback: sendUnaryData<Message>) => {
        const context = startCall(service, method, call, observer);
        replyOnce(call, context, callback, () => spec.impl(requestsOf(call), context));
      };
    case "server_streaming":
      return (call: ServerWritableStream<Message, Message>) => {
        const context = startCall(service, method, call, observer);
        replyStream(call, context, () => spec.impl(call.request, context));
      };
    case "bidi_streaming":
      return (call: ServerDuplexStream<Message, Message>) => {
        const context = startCall(service, method, call, observer);
        replyStream(call, context, () => spec.impl(requestsOf(call), context));
      };
  }
}

/**
 * The request stream as an async iterable that leaves the call open when the handler stops
 * reading early (a bidi call still has responses to write).
 */
function requestsOf(call: ServerReadableStream<Message, Message>): AsyncIterable<Message> {
  return call.iterator({ destroyOnReturn: false }) as AsyncIterable<Message>;
}

function replyOnce(
  call: CallLike,
  context: Controller,
  callback: sendUnaryData<Message>,
  run: () => Promise<MessageInitShape<DescMessage>>,
): void {
  const sendHeaders = headerSender(call, context);
  run().then(
    (response) => {
      sendHeaders();
      const message = toMessage(context.method.output, response);
      callback(null, message, trailersOf(context));
      context.observed.end(0);
      context.abort(finished);
    },
    (error: unknown) => {
      sendHeaders();
      const trailers = metadataFromHeaders(context.responseTrailer);
      const status = statusFromError(error, context.signal, trailers);
      callback(status);
      context.observed.end(status.code as number as Code); // grpc-js status numbers are gRPC codes
      context.abort(finished);
    },
  );
}

function replyStream(
  call: WritableCall,
  context: Controller,
  run: () => AsyncIterable<MessageInitShape<DescMessage>>,
): void {
  const sendHeaders = headerSender(call, context);
  const output = context.method.output;
  (async () => {
    for await (const response of run()) {
      sendHeaders();
      if (!call.write(toMessage(output, response))) {
        await once(call, "drain", { signal: context.signal });
      }
    }
    sendHeaders();
    call.end(trailersOf(context));
  })().then(
    () => {
      context.observed.end(0);
      context.abort(finished);
    },
    (error: unknown) => {
      sendHeaders();
      const trailers = metadataFromHeaders(context.responseTrailer);
      // grpc-js's way to end a streaming call with a status: an 'error' event on the call.
      const status = statusFromError(error, context.signal, trailers);
      call.emit("error", status);
      context.observed.end(status.code as number as Code); // grpc-js status numbers are gRPC codes
      context.abort(finished);
    },
  );
}
