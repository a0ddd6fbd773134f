import { EventEmitter, once } from "node:events";
import { create } from "@bufbuild/protobuf";
import { durationMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type Money, MoneySchema } from "../../gen/acme/common/v1/money_pb.js";
import type { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { type OrderCreated, OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import {
  type LineItem,
  type Order,
  OrderSchema,
  type OrderService,
  OrderStatus,
} from "../../gen/acme/order/v1/order_service_pb.js";

const defaultPageSize = 20;
const maxPageSize = 100;
const nanosPerUnit = 1_000_000_000n;

export interface OrderServiceDeps {
  /** Where stock is reserved before an order is confirmed. */
  readonly inventory: Client<typeof InventoryService>;
  /**
   * Stores a new order together with its OrderCreated event, in one transaction (the outbox).
   * Default: none, the order is kept in memory only and no event is published.
   */
  readonly recordCreated?: ((order: Order, event: OrderCreated) => Promise<void>) | undefined;
}

/** An in-memory order service that reserves stock through the inventory service. */
export function createOrderService(deps: OrderServiceDeps): ServiceImpl<typeof OrderService> {
  const orders = new Map<string, Order>();
  // One event per order id whenever it changes; watchers wait on it.
  const changes = new EventEmitter().setMaxListeners(0);
  let sequence = 0;

  function find(orderId: string): Order {
    const order = orders.get(orderId);
    if (!order) throw new ConnectError(`order ${JSON.stringify(orderId)} not found`, Code.NotFound);
    return order;
  }

  function save(order: Order): Order {
    orders.set(order.orderId, order);
    changes.emit(order.orderId);
    return order;
  }

  return {
    async createOrder(request, context) {
      if (request.customerId === "") {
        throw new ConnectError("customer_id is required", Code.InvalidArgument);
      }
      const total = sumItems(request.items);
      sequence += 1;
      const orderId = `ord_${String(sequence).padStart(4, "0")}`;
      const reservationId = `res_${orderId}`;
      await deps.inventory.reserve(
        { reservationId, lines: request.items.map(({ sku, quantity }) => ({ sku, quantity })) },
        { signal: context.signal },
      );
      const now = timestampNow();
      const order = create(OrderSchema, {
        orderId,
        customerId: request.customerId,
        items: request.items,
        total,
        status: OrderStatus.CONFIRMED,
        createTime: now,
        updateTime: now,
        reservationId,
      });
      await deps.recordCreated?.(
        order,
        create(OrderCreatedSchema, {
          orderId,
          customerId: order.customerId,
          total,
          itemCount: request.items.reduce((n, item) => n + item.quantity, 0),
        }),
      );
      return { order: save(order) };
    },

    getOrder(request) {
      return { order: find(request.orderId) };
    },

    listOrders(request) {
      const pageSize = Math.min(request.pageSize || defaultPageSize, maxPageSize);
      const offset = decodePageToken(request.pageToken);
      const matching = [...orders.values()]
        .filter((o) => request.customerId === "" || o.customerId === request.customerId)
        .reverse();
      const page = matching.slice(offset, offset + pageSize);
      const next = offset + page.length;
      return { orders: page, nextPageToken: next < matching.length ? encodePageToken(next) : "" };
    },

    async cancelOrder(request, context) {
      const order = find(request.orderId);
      if (order.status === OrderStatus.CANCELLED) return { order };
      if (order.status === OrderStatus.SHIPPED) {
        throw new ConnectError(`order ${order.orderId} has shipped`, Code.FailedPrecondition);
      }
      await deps.inventory.release(
        { reservationId: order.reservationId },
        { signal: context.signal },
      );
      const cancelled = create(OrderSchema, {
        ...order,
        status: OrderStatus.CANCELLED,
        cancelReason: request.reason,
        updateTime: timestampNow(),
      });
      return { order: save(cancelled) };
    },

    async *watchOrder(request, context) {
      let order = find(request.orderId);
      yield { order };
      const heartbeatMs = request.heartbeatInterval ? durationMs(request.heartbeatInterval) : 0;
      while (!isFinal(order.status)) {
        const wait =
          heartbeatMs > 0
            ? AbortSignal.any([context.signal, AbortSignal.timeout(heartbeatMs)])
            : context.signal;
        try {
          await once(changes, order.orderId, { signal: wait });
        } catch (error) {
          // A heartbeat is just a timed-out wait; the caller going away ends the stream.
          if (context.signal.aborted) throw error;
        }
        order = find(request.orderId);
        yield { order };
      }
    },
  };
}

function isFinal(status: OrderStatus): boolean {
  return status === OrderStatus.CANCELLED || status === OrderStatus.SHIPPED;
}

function sumItems(items: readonly LineItem[]): Money {
  if (items.length === 0)
    throw new ConnectError("an order needs at least one item", Code.InvalidArgument);
  const currency = items[0]?.unitPrice?.currencyCode ?? "";
  let nanos = 0n;
  for (const item of items) {
    if (item.sku === "" || item.quantity < 1) {
      throw new ConnectError(
        "every item needs a sku and a quantity of at least 1",
        Code.InvalidArgument,
      );
    }
    const price = item.unitPrice;
    if (!price || price.currencyCode !== currency || currency === "") {
      throw new ConnectError("every item needs a unit_price in one currency", Code.InvalidArgument);
    }
    nanos += (BigInt(price.units) * nanosPerUnit + BigInt(price.nanos)) * BigInt(item.quantity);
  }
  return create(MoneySchema, {
    currencyCode: currency,
    units: nanos / nanosPerUnit,
    nanos: Number(nanos % nanosPerUnit),
  });
}

function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64url");
}

function decodePageToken(token: string): number {
  if (token === "") return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, "base64url").toString()) as {
      offset?: unknown;
    };
    if (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the error below
  }
  throw new ConnectError("invalid page_token", Code.InvalidArgument);
}
