import { once } from "node:events";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { StockLevelSchema } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import type { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";

/** What the scripted service saw, for assertions on the server side. */
export interface ServerLog {
  /** Calls received, by any method. */
  calls: number;
  /** Signals of handlers that wait for their caller to go away, in arrival order. */
  readonly waiting: AbortSignal[];
}

/**
 * An order service whose behaviour the order id picks, so one server serves every case:
 * `echo` mirrors request metadata into response headers and trailers, `hang` waits until its
 * caller gives up, `fail` throws NOT_FOUND with metadata and a detail, `unavailable` throws UNAVAILABLE, anything else answers.
 * `WatchOrder` on `stream:N` sends N updates; on `stream-hang` one, then waits.
 */
export function createScriptedOrderService(
  log: ServerLog,
): Partial<ServiceImpl<typeof OrderService>> {
  async function waitForCaller(context: HandlerContext): Promise<never> {
    log.waiting.push(context.signal);
    if (!context.signal.aborted) await once(context.signal, "abort");
    throw new ConnectError("the caller went away", Code.Canceled);
  }

  return {
    async getOrder(request, context) {
      log.calls += 1;
      switch (request.orderId) {
        case "echo": {
          const caller = context.requestHeader.get("x-caller") ?? "";
          context.responseHeader.set("x-echo-caller", caller);
          context.responseHeader.set(
            "x-echo-blob-bin",
            context.requestHeader.get("x-blob-bin") ?? "",
          );
          context.responseTrailer.set("x-trailer", "done");
          return { order: { orderId: "echo", customerId: caller } };
        }
        case "unavailable":
          throw new ConnectError("try another backend", Code.Unavailable);
        case "hang":
          return waitForCaller(context);
        case "fail":
          throw new ConnectError("order fail is gone", Code.NotFound, { "x-error-meta": "yes" }, [
            { desc: StockLevelSchema, value: { sku: "sku-mug", available: 7 } },
          ]);
        default:
          return { order: { orderId: request.orderId } };
      }
    },

    async *watchOrder(request, context) {
      log.calls += 1;
      if (request.orderId === "stream-hang") {
        yield { order: { orderId: "first" } };
        await waitForCaller(context);
      }
      const count = Number(request.orderId.replace("stream:", ""));
      for (let i = 0; i < count; i++) yield { order: { orderId: `update-${i}` } };
    },
  };
}

/** A fresh, empty log. */
export function createServerLog(): ServerLog {
  return { calls: 0, waiting: [] };
}
