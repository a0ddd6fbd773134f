import { createHash } from "node:crypto";
import { create, type DescService, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { isIdempotent, readMethodContract } from "../contract/index.js";
import { idempotencyKeyHeader } from "../resilience/index.js";
import type { IdempotencyStore } from "./idempotency-store.js";

export interface IdempotencyKeyOptions {
  readonly store: IdempotencyStore;
  /**
   * How long a call waits for another call with the same key to finish before it fails with
   * Aborted (the client may try again). Default 30 s.
   */
  readonly waitMs?: number;
}

const keyPattern = /^[\w.:@/+=-]{1,255}$/;

/**
 * Wraps a service so its non-idempotent unary methods honour an `idempotency-key` request
 * header: the first call with a key runs and its response is stored; a repeat with the same
 * request gets the stored response without running the method; the same key with a different
 * request fails with FailedPrecondition. Concurrent calls with one key run the method once (the
 * others wait for its response). A failed call releases its key, so a retry runs again. Calls
 * without the header, idempotent methods and streams are left as they are.
 */
export function withIdempotencyKeys<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  options: IdempotencyKeyOptions,
): ServiceImpl<S> {
  const waitMs = options.waitMs ?? 30_000;
  const wrapped: Record<string, unknown> = { ...impl };
  for (const method of service.methods) {
    if (method.methodKind !== "unary" || isIdempotent(readMethodContract(method))) continue;
    const handler = (impl as Record<string, unknown>)[method.localName];
    if (typeof handler !== "function") continue;
    const scope = `/${service.typeName}/${method.name}`;
    wrapped[method.localName] = async (request: never, context: HandlerContext) => {
      const key = context.requestHeader.get(idempotencyKeyHeader);
      if (key === null) return handler.call(impl, request, context);
      if (!keyPattern.test(key)) {
        throw new ConnectError(`invalid ${idempotencyKeyHeader}`, Code.InvalidArgument);
      }
      const hash = createHash("sha256").update(toBinary(method.input, request)).digest("base64url");
      const deadline = Date.now() + waitMs;
      for (let pause = 5; ; pause = Math.min(200, pause * 2)) {
        const claim = await options.store.claim(scope, key, hash);
        if (claim.kind === "done") return fromBinary(method.output, claim.response);
        if (claim.kind === "mismatch") {
          throw new ConnectError(
            `${idempotencyKeyHeader} ${key} was used before with a different request`,
            Code.FailedPrecondition,
          );
        }
        if (claim.kind === "claimed") break;
        if (Date.now() > deadline || context.signal.aborted) {
          throw new ConnectError(
            `a call with ${idempotencyKeyHeader} ${key} is still running`,
            Code.Aborted,
          );
        }
        await new Promise((r) => setTimeout(r, pause));
      }
      try {
        const response = await handler.call(impl, request, context);
        const message = isMessage(response, method.output)
          ? response
          : create(method.output, response as never);
        await options.store.complete(scope, key, toBinary(method.output, message));
        return message;
      } catch (error) {
        await options.store.release(scope, key).catch(() => {});
        throw error;
      }
    };
  }
  return wrapped as ServiceImpl<S>;
}
