import { createContextKey } from "@connectrpc/connect";

/**
 * Per call, in `contextValues`: wait for a ready connection (bounded by the call's deadline)
 * instead of failing fast with `Unavailable` when none is ready (gRPC's wait-for-ready).
 * Default: the transport's `waitForReady` option, itself false.
 *
 * ```ts
 * await client.getOrder(req, { contextValues: createContextValues().set(waitForReady, true) });
 * ```
 */
export const waitForReady = createContextKey<boolean | undefined>(undefined, {
  description: "protomesh wait-for-ready",
});
