/**
 * The demo page: creates an order through the gateway with Connect, reads it back with
 * gRPC-Web and REST, and watches it stream (Connect server streaming) until it is cancelled.
 * Bundled for the browser by esbuild (see web-page.ts).
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { OrderService, OrderStatus } from "../../../gen/acme/order/v1/order_service_pb.js";

// The little of the DOM this page uses, declared here: the project compiles for Node, and the
// DOM library's global types would change Node's (Headers, fetch) for every other file.
interface PageElement {
  textContent: string | null;
  addEventListener(type: "click", listener: () => void): void;
}
declare const document: {
  readonly body: { readonly dataset: Record<string, string | undefined> };
  getElementById(id: string): PageElement | null;
};

const gateway = document.body.dataset.gateway ?? "";
const connect = createClient(OrderService, createConnectTransport({ baseUrl: gateway }));
const grpcWeb = createClient(OrderService, createGrpcWebTransport({ baseUrl: gateway }));

function show(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

async function run(): Promise<void> {
  const created = await connect.createOrder({
    customerId: "cus_web",
    items: [{ sku: "sku-tee", quantity: 1, unitPrice: { currencyCode: "EUR", units: 20n } }],
  });
  const id = created.order?.orderId ?? "";
  show("connect", `connect: ${id} ${OrderStatus[created.order?.status ?? 0]}`);

  const read = await grpcWeb.getOrder({ orderId: id });
  show("grpc-web", `grpc-web: ${read.order?.orderId} ${OrderStatus[read.order?.status ?? 0]}`);

  const rest = await fetch(`${gateway}/v1/orders/${encodeURIComponent(id)}`);
  const json = (await rest.json()) as { order?: { orderId?: string; status?: string } };
  show("rest", `rest: ${rest.status} ${json.order?.orderId} ${json.order?.status}`);

  const seen: string[] = [];
  let cancelled = false;
  for await (const update of connect.watchOrder({ orderId: id })) {
    seen.push(OrderStatus[update.order?.status ?? 0] ?? "?");
    show("watch", `watch: ${seen.join(" → ")}`);
    if (!cancelled) {
      cancelled = true;
      // Cancel through REST (the custom verb); the watch sees it and ends.
      await fetch(`${gateway}/v1/orders/${encodeURIComponent(id)}:cancel`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reason: "demo" }),
      });
    }
  }
  show("done", "done");
}

document.getElementById("go")?.addEventListener("click", () => {
  run().catch((e: unknown) =>
    show("error", `error: ${e instanceof Error ? e.message : String(e)}`),
  );
});
