import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createClient, createServer, defineService, type Server } from "../../src/index.js";

let server: Server | undefined;
afterEach(() => server?.close());

describe("createClient", () => {
  it("keeps baseUrl and interceptors working, running interceptors once per attempt", async () => {
    let n = 0;
    server = createServer({
      services: [
        defineService(OrderService, {
          getOrder() {
            if (++n === 1) throw new ConnectError("warming up", Code.Unavailable);
            return { order: create(OrderSchema, { orderId: "ord_7" }) };
          },
        }),
      ],
    });
    const { url } = await server.listen();
    const seen: string[] = [];
    const interceptor: Interceptor = (next) => (req) => {
      seen.push(req.method.name);
      return next(req);
    };
    const client = createClient(OrderService, {
      baseUrl: url,
      interceptors: [interceptor],
      policy: { retry: { backoff: { initialMs: 1, maxMs: 2 } } },
    });
    const { order } = await client.getOrder({ orderId: "ord_7" });
    expect(order?.orderId).toBe("ord_7");
    expect(seen).toEqual(["GetOrder", "GetOrder"]);
  });

  it("refuses a bad policy when the client is created", () => {
    expect(() =>
      createClient(OrderService, { baseUrl: "http://127.0.0.1:1", policy: { timeoutMs: -5 } }),
    ).toThrow(ConnectError);
  });
});
