import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { NotificationService } from "../../gen/acme/notification/v1/notification_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createGateway, type Gateway, type GatewayAddress } from "../../src/gateway/index.js";
import {
  createClient,
  createServer,
  defineService,
  type Server,
  type ServerAddress,
} from "../../src/index.js";
import type { EventBackbone } from "./event-backbone.js";
import { createInventoryService } from "./inventory-service.js";
import {
  consumeOrderCreated,
  createNotificationService,
  createNotifier,
} from "./notification-service.js";
import { createOrderService } from "./order-service.js";
import { startWebPage, type WebPage } from "./web-page.js";

export interface MeshOptions {
  readonly host?: string;
  readonly orderPort?: number;
  readonly inventoryPort?: number;
  readonly notificationPort?: number;
  /** Events: CreateOrder records OrderCreated, the notification service consumes it. */
  readonly events?: EventBackbone;
  /** Where the notification service and the dead-letter watch write. Default: nowhere. */
  readonly log?: (line: string) => void;
  /** The gateway (REST, Connect, gRPC-Web for browsers) in front of the order service. */
  readonly gatewayPort?: number;
  /** The demo page, served from its own origin. */
  readonly webPort?: number;
}

export interface Mesh {
  readonly order: ServerAddress;
  readonly inventory: ServerAddress;
  readonly notification: ServerAddress;
  readonly gateway: GatewayAddress;
  /** The demo page's URL: open it in a browser. */
  readonly web: string;
  close(): Promise<void>;
}

/** The demo stock: two products, enough for a few orders. */
export const demoStock = { "sku-mug": 100, "sku-tee": 25 } as const;

/** Starts inventory, then order pointed at it: the slice of the order mesh the demo runs. */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const host = options.host ?? "127.0.0.1";
  const servers: Server[] = [];
  let gateway: Gateway | undefined;
  let page: WebPage | undefined;
  const closeEverything = async () => {
    await page?.close();
    await gateway?.close();
    await closeAll(servers);
  };
  try {
    const inventoryServer = createServer({
      services: [defineService(InventoryService, createInventoryService(demoStock))],
    });
    servers.push(inventoryServer);
    const inventory = await inventoryServer.listen({ host, port: options.inventoryPort ?? 0 });

    const inventoryClient = createClient(InventoryService, { baseUrl: inventory.url });
    const orderServer = createServer({
      services: [
        defineService(
          OrderService,
          createOrderService({
            inventory: inventoryClient,
            recordCreated: options.events?.recordOrder,
          }),
        ),
      ],
    });
    servers.push(orderServer);
    const order = await orderServer.listen({ host, port: options.orderPort ?? 0 });

    const notifier = createNotifier(options.log);
    const notificationServer = createServer({
      services: [defineService(NotificationService, createNotificationService(notifier))],
    });
    servers.push(notificationServer);
    const notification = await notificationServer.listen({
      host,
      port: options.notificationPort ?? 0,
    });
    if (options.events) {
      const log = options.log ?? (() => {});
      const subscription = await consumeOrderCreated(options.events.bus, notifier);
      await options.events.watchDeadLetters(subscription.deadLetterQueue, log);
    }

    page = await startWebPage({ host, port: options.webPort ?? 0 });
    gateway = createGateway({
      upstreams: [{ services: [OrderService], baseUrl: order.url }],
      cors: { allowedOrigins: [page.url] },
    });
    const gatewayAddress = await gateway.listen({ host, port: options.gatewayPort ?? 0 });
    page.gatewayUrl = gatewayAddress.url;

    return {
      order,
      inventory,
      notification,
      gateway: gatewayAddress,
      web: page.url,
      close: closeEverything,
    };
  } catch (error) {
    await closeEverything();
    throw error;
  }
}

async function closeAll(servers: readonly Server[]): Promise<void> {
  await Promise.all(servers.map((s) => s.close()));
}
