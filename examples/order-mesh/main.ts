/** `npm start`: runs the order mesh on 127.0.0.1 until Ctrl-C. */
import { startEventBackbone } from "./event-backbone.js";
import { startMesh } from "./mesh.js";
import { unreachableCustomer } from "./notification-service.js";
import { startDemoTracing } from "./tracing.js";

const tracing = startDemoTracing();
if (tracing) console.log(`tracing: OTLP/HTTP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`);

const events = await startEventBackbone({
  amqpUrl: process.env.AMQP_URL || undefined,
  databaseUrl: process.env.DATABASE_URL || undefined,
});
const mesh = await startMesh({
  orderPort: portFromEnv("ORDER_PORT", 8080),
  inventoryPort: portFromEnv("INVENTORY_PORT", 8081),
  notificationPort: portFromEnv("NOTIFICATION_PORT", 8082),
  gatewayPort: portFromEnv("GATEWAY_PORT", 8090),
  webPort: portFromEnv("WEB_PORT", 8091),
  events,
  log: (line) => console.log(line),
});

const body = JSON.stringify({
  customerId: "cus_42",
  items: [
    {
      sku: "sku-mug",
      quantity: 2,
      unitPrice: { currencyCode: "EUR", units: "12", nanos: 500000000 },
    },
  ],
});
console.log(`inventory  ${mesh.inventory.url}  acme.inventory.v1.InventoryService`);
console.log(`order      ${mesh.order.url}  acme.order.v1.OrderService (calls inventory)`);
console.log(
  `notify     ${mesh.notification.url}  acme.notification.v1.NotificationService (consumes OrderCreated)`,
);
for (const line of events.description) console.log(line);
console.log("Each port speaks gRPC, gRPC-Web and Connect over HTTP/2 cleartext. Try:");
console.log(
  `curl --silent --http2-prior-knowledge -H 'Content-Type: application/json' -d '${body}' ${mesh.order.url}/acme.order.v1.OrderService/CreateOrder`,
);
console.log(
  `An order by ${unreachableCustomer} cannot be notified: after 3 attempts its OrderCreated is dead-lettered (a "DLQ" line appears):`,
);
console.log(
  `  curl --silent --http2-prior-knowledge -H 'Content-Type: application/json' -d '${body.replace("cus_42", unreachableCustomer)}' ${mesh.order.url}/acme.order.v1.OrderService/CreateOrder`,
);
console.log(
  `gateway    ${mesh.gateway.url}  REST, Connect and gRPC-Web for browsers (public methods of order)`,
);
console.log(
  `web        ${mesh.web}  a page that creates an order and watches it through the gateway`,
);
console.log("REST through the gateway:");
console.log(
  `curl --silent -H 'Content-Type: application/json' -d '${body}' ${mesh.gateway.url}/v1/orders`,
);
console.log("Ctrl-C stops the mesh.");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    Promise.all([mesh.close(), events.close()])
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  });
}

function portFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  }
  return port;
}
