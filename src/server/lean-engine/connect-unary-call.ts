import {
  create,
  type DescMessage,
  fromBinary,
  fromJsonString,
  isMessage,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { endAfterWrite } from "../end-after-write.js";
import { appendCorrelationId, LeanCall, type LeanCallInit } from "./lean-call.js";
import { respondRaw } from "./respond-raw.js";

/** What a Connect unary call needs beyond a gRPC call's init: the body codec. */
export interface ConnectUnaryInit extends LeanCallInit {
  /** true for application/json, false for application/proto. */
  readonly json: boolean;
}

/**
 * One Connect-protocol unary call (POST, uncompressed, HTTP/2) on the lean engine: the whole
 * body is one message, the response is one message, errors are Connect's JSON error with the
 * HTTP status it maps the code to, trailers travel as `trailer-` headers. Everything else the
 * Connect protocol allows (GET, compression, streaming, HTTP/1.1) stays with connect-node.
 */
export class ConnectUnaryCall extends LeanCall<ConnectUnaryInit> {
  constructor(init: ConnectUnaryInit) {
    super(init, "connect");
  }

  start(): void {
    const { stream, maxReceiveMessageBytes } = this.init;
    this.watch();
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let received = 0;
    stream.on("data", (chunk: Buffer) => {
      if (this.done) return;
      received += chunk.length;
      if (received > maxReceiveMessageBytes) {
        this.fail(
          new ConnectError(
            `message exceeds the limit of ${maxReceiveMessageBytes} bytes`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      if (first === undefined) first = chunk;
      else if (more) more.push(chunk);
      else more = [chunk];
    });
    stream.on("end", () => {
      if (this.done) return;
      try {
        const body = more ? Buffer.concat([first as Buffer, ...more]) : (first ?? Buffer.alloc(0));
        this.invoke(this.#decode(body), this.#respond);
      } catch (error) {
        this.fail(error);
      }
    });
  }

  override fail(reason: unknown): void {
    if (this.done) return;
    const error = ConnectError.from(reason);
    this.finish(error.code);
    const { stream } = this.init;
    if (!stream.destroyed && !stream.closed) {
      const headers = this.#headers(codeToHttpStatus(error.code), "application/json");
      for (const [name, value] of error.metadata) headers.push(name, value);
      respondRaw(stream, headers);
      stream.end(errorToJsonBytes(error, {}));
      if (!stream.readableEnded) stream.close();
    }
    this.context.abort(error);
  }

  #decode(body: Buffer): unknown {
    const schema = this.init.route.method.input;
    try {
      return this.init.json
        ? fromJsonString(schema, body.toString("utf8"), { ignoreUnknownFields: true })
        : fromBinary(schema, body);
    } catch (cause) {
      throw new ConnectError(
        `cannot decode ${schema.typeName} from ${this.init.json ? "JSON" : "binary"}`,
        Code.InvalidArgument,
        undefined,
        undefined,
        cause,
      );
    }
  }

  #respond(output: unknown): void {
    if (this.done) return;
    const { stream, json } = this.init;
    let body: string | Uint8Array;
    try {
      const schema: DescMessage = this.init.route.method.output;
      const message = isMessage(output, schema) ? output : create(schema, output as never);
      body = json ? toJsonString(schema, message) : toBinary(schema, message);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.finish(0);
    if (stream.destroyed) return;
    respondRaw(stream, this.#headers(200, json ? "application/json" : "application/proto"));
    endAfterWrite(stream, body);
  }

  /** Raw name/value pairs, handler trailers as `trailer-` headers, as Connect unary sends them. */
  #headers(status: number, contentType: string): string[] {
    const headers = [":status", String(status), "content-type", contentType];
    this.context.appendResponseHeader(headers);
    this.context.appendResponseTrailer(headers, "trailer-");
    appendCorrelationId(headers, this.init.correlationId);
    return headers;
  }
}
