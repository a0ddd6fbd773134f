/**
 * One process of the gateway suite (bench/suites/gateway.ts): `upstream` (a protomesh server
 * of acme.order.v1.OrderService), `gateway UPSTREAM_PORT` (createGateway in front of it) or
 * `connect-node` (raw connect-node serving the same calls). The suite compiles it with tsc
 * (bench/tsconfig.targets.json) and runs `node .tmp/bench-targets/bench/gateway-target.js
 * KIND [PORT]`; it sends its port on the IPC channel and answers "count" with the calls it
 * completed.
 */
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type Order,
  OrderSchema,
  OrderService,
  OrderStatus,
} from "../gen/acme/order/v1/order_service_pb.js";
import { createGateway } from "../src/gateway/index.js";
import { createServer, defineService } from "../src/server/index.js";

const kind = process.argv[2];
let count = 0;

const order: Order = create(OrderSchema, {
  orderId: "ord_0001",
  customerId: "cus_42",
  items: [{ sku: "sku-mug", quantity: 2, unitPrice: { currencyCode: "EUR", units: 12n } }],
  total: { currencyCode: "EUR", units: 24n },
  status: OrderStatus.CONFIRMED,
});

const impl = {
  getOrder() {
    count++;
    return { order };
  },
  createOrder() {
    count++;
    return { order };
  },
};

async function start(): Promise<number> {
  switch (kind) {
    case "upstream": {
      const server = createServer({
        services: [defineService(OrderService, impl)],
        logger: false,
      });
      return (await server.listen()).port;
    }
    case "gateway": {
      const gateway = createGateway({
        upstreams: [{ services: [OrderService], baseUrl: `http://127.0.0.1:${process.argv[3]}` }],
        logger: false,
      });
      return (await gateway.listen()).port;
    }
    case "connect-node": {
      const server = createHttp2Server(
        connectNodeAdapter({ routes: (router) => router.service(OrderService, impl) }),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return (server.address() as AddressInfo).port;
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

const port = await start();
process.send?.({ port });
process.on("message", (m) => {
  if (m === "count") process.send?.({ count });
});
