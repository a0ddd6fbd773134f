import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createGateway, type Gateway, type GatewayAddress } from "../../src/gateway/index.js";
import {
  createClient,
  createServer,
  defineService,
  type Server,
  type ServerAddress,
} from "../../src/index.js";
import { createInventoryService } from "./inventory-service.js";
import { createOrderService } from "./order-service.js";
import { startWebPage, type WebPage } from "./web-page.js";

export interface MeshOptions {
  readonly host?: string;
  readonly orderPort?: number;
  readonly inventoryPort?: number;
  /** The gateway (REST, Connect, gRPC-Web for browsers) in front of the order service. */
  readonly gatewayPort?: number;
  /** The demo page, served from its own origin. */
  readonly webPort?: number;
}

export interface Mesh {
  readonly order: ServerAddress;
  readonly inventory: ServerAddress;
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
      services: [defineService(OrderService, createOrderService({ inventory: inventoryClient }))],
    });
    servers.push(orderServer);
    const order = await orderServer.listen({ host, port: options.orderPort ?? 0 });

    page = await startWebPage({ host, port: options.webPort ?? 0 });
    gateway = createGateway({
      upstreams: [{ services: [OrderService], baseUrl: order.url }],
      cors: { allowedOrigins: [page.url] },
    });
    const gatewayAddress = await gateway.listen({ host, port: options.gatewayPort ?? 0 });
    page.gatewayUrl = gatewayAddress.url;

    return { order, inventory, gateway: gatewayAddress, web: page.url, close: closeEverything };
  } catch (error) {
    await closeEverything();
    throw error;
  }
}

async function closeAll(servers: readonly Server[]): Promise<void> {
  await Promise.all(servers.map((s) => s.close()));
}
