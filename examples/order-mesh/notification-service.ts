import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { NotificationService } from "../../gen/acme/notification/v1/notification_service_pb.js";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import type { EventBus, Subscription } from "../../src/events/index.js";

/** The demo's customers who cannot be reached: their notifications fail and end in the DLQ. */
export const unreachableCustomer = "cus_unreachable";

/** The queue the notification service consumes OrderCreated from. */
export const notificationQueue = "notification.order-created";

/** What the notification service does, whether called over RPC or by an event. */
export interface Notifier {
  readonly sent: number;
  send(request: {
    readonly customerId: string;
    readonly template: string;
    readonly params?: Record<string, string>;
  }): { notificationId: string };
}

/** An in-memory notifier: "sends" by logging, refuses unreachable customers. */
export function createNotifier(log: (line: string) => void = () => {}): Notifier {
  let sent = 0;
  return {
    get sent() {
      return sent;
    },
    send(request) {
      if (request.customerId === unreachableCustomer) {
        throw new ConnectError(
          `no address on file for ${request.customerId}`,
          Code.FailedPrecondition,
        );
      }
      sent++;
      const notificationId = `ntf_${String(sent).padStart(4, "0")}`;
      log(`notification ${notificationId}: ${request.template} to ${request.customerId}`);
      return { notificationId };
    },
  };
}

/** The NotificationService RPCs on a notifier. */
export function createNotificationService(
  notifier: Notifier,
): ServiceImpl<typeof NotificationService> {
  return { send: (request) => notifier.send(request) };
}

/**
 * The notification service's event consumer: each OrderCreated becomes an order-confirmed
 * message. A failure is retried twice, then the event goes to the dead-letter queue.
 */
export function consumeOrderCreated(bus: EventBus, notifier: Notifier): Promise<Subscription> {
  return bus.subscribe(
    OrderCreatedSchema,
    async (event, context) => {
      notifier.send({
        customerId: event.customerId,
        template: "order-confirmed",
        params: { order_id: event.orderId, event_id: context.id },
      });
    },
    { queue: notificationQueue, concurrency: 10, retry: { maxAttempts: 3, initialDelayMs: 200 } },
  );
}
