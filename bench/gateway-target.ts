/**
 * One process of the gateway suite (bench/suites/gateway.ts): `upstream` (a protomesh server
 * of acme.order.v1.OrderService), `gateway UPSTREAM_PORT` (createGateway in front of it),
 * `bare-proxy UPSTREAM_PORT` (the floor: a minimal hand-written node:http2 REST→gRPC
 * pass-through of GET /v1/orders/{order_id}), `frame-proxy UPSTREAM_PORT` (the same, calling
 * upstream on the http2 transport's own wire, bench/frame-floor-client.ts), `connect-node` (raw
 * connect-node serving the same calls), or `rate URL RPS SECONDS [BODY_FILE]` (an open-loop load generator at a fixed
 * request rate, for latency below saturation). The suite compiles it with tsc
 * (bench/tsconfig.targets.json) and runs `node .tmp/bench-targets/bench/gateway-target.js
 * KIND [ARGS]`; a server sends its port on the IPC channel and answers "count" with the calls
 * it completed; `rate` sends its latencies and exits.
 */
import { readFileSync } from "node:fs";
import {
  connect as connectHttp2,
  createServer as createHttp2Server,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  GetOrderRequestSchema,
  GetOrderResponseSchema,
  type Order,
  OrderSchema,
  OrderService,
  OrderStatus,
} from "../gen/acme/order/v1/order_service_pb.js";
import { createGateway } from "../src/gateway/index.js";
import { createServer, defineService } from "../src/server/index.js";
import { FrameFloorClient } from "./frame-floor-client.js";

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
    case "bare-proxy":
      return startBareProxy(Number(process.argv[3]), false);
    case "frame-proxy":
      return startBareProxy(Number(process.argv[3]), true);
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

/**
 * The floor under the gateway's REST path: what node:http2 and protobuf-es alone cost for
 * GET /v1/orders/{order_id} → GetOrder over gRPC → JSON, with none of the gateway's features
 * (no route table, no policy, no deadline, no headers forwarded, no log, no metrics, no
 * cancellation). One HTTP/2 session to the upstream, gRPC framing by hand.
 */
async function startBareProxy(upstreamPort: number, framed: boolean): Promise<number> {
  const upstream = framed ? framedUpstream(upstreamPort) : http2Upstream(upstreamPort);
  const prefix = "/v1/orders/";
  // h2load resets its streams when a run ends: answer only a stream still open.
  const gone = (stream: ServerHttp2Stream) =>
    stream.destroyed || stream.closed || stream.headersSent;
  const fail = (stream: ServerHttp2Stream, status: number) => {
    if (gone(stream)) return;
    stream.respond({ ":status": status });
    stream.end();
  };
  const server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const path = headers[":path"] ?? "";
    if (
      headers[":method"] !== "GET" ||
      !path.startsWith(prefix) ||
      path.indexOf("/", prefix.length) !== -1
    ) {
      stream.resume();
      fail(stream, 404);
      return;
    }
    stream.resume();
    const q = path.indexOf("?");
    const id = decodeURIComponent(path.slice(prefix.length, q === -1 ? undefined : q));
    const message = toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { orderId: id }));
    upstream(message, (data) => {
      if (data === undefined) {
        fail(stream, 502);
        return;
      }
      if (gone(stream)) return;
      const reply = fromBinary(GetOrderResponseSchema, data);
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify(toJson(GetOrderResponseSchema, reply)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const getOrderPath = "/acme.order.v1.OrderService/GetOrder";

/** Sends a serialized GetOrderRequest; `done` gets the serialized reply, or undefined on failure. */
type Upstream = (message: Uint8Array, done: (reply: Uint8Array | undefined) => void) => void;

/** GetOrder over one node:http2 session, gRPC framing by hand. */
function http2Upstream(port: number): Upstream {
  const session = connectHttp2(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  return (message, done) => {
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const call = session.request({
      ":method": "POST",
      ":path": getOrderPath,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    call.on("data", (c: Buffer) => chunks.push(c));
    call.on("trailers", (trailers) => {
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const ok = trailers["grpc-status"] === "0" && data.length >= 5;
      done(ok ? data.subarray(5, 5 + data.readUInt32BE(1)) : undefined);
    });
    call.on("error", () => done(undefined));
    call.end(frame);
  };
}

/**
 * GetOrder over bench/frame-floor-client.ts (the http2 transport's own wire, no node:http2 on
 * this side): what the hop upstream costs without node:http2's client machinery.
 */
function framedUpstream(port: number): Upstream {
  const client = new FrameFloorClient(port, getOrderPath);
  return (message, done) => {
    client.call(message).then(done, () => done(undefined));
  };
}

/**
 * Open-loop load at a fixed rate on one HTTP/2 session: request i is due at start + i/rate and
 * is sent at the first timer tick after that, whatever is still in flight (so a stalled
 * server's queueing shows, no coordinated omission). Its latency counts from when it is sent,
 * not from when it was due: the ticks come a millisecond or more apart (setTimeout), and
 * counting from the due time added up to that much of the generator's own lateness to every
 * call, which pulled the two paths' p50s towards each other. Sends `{ latenciesUs, failed }` on the
 * IPC channel.
 */
async function runFixedRate(
  url: string,
  rate: number,
  seconds: number,
  bodyFile?: string,
): Promise<void> {
  const target = new URL(url);
  const body = bodyFile ? readFileSync(bodyFile) : undefined;
  const session = connectHttp2(target.origin);
  session.on("error", () => {});
  const headers = {
    ":method": body ? "POST" : "GET",
    ":path": target.pathname + target.search,
    ...(body ? { "content-type": "application/json" } : {}),
  };
  const total = Math.max(1, Math.round(rate * seconds));
  const latenciesUs: number[] = [];
  let failed = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const send = () => {
      const sentAt = performance.now();
      const req = session.request(headers);
      let status = 0;
      req.on("response", (h) => {
        status = Number(h[":status"]);
      });
      req.on("data", () => {});
      const done = () => {
        if (status === 200) latenciesUs.push((performance.now() - sentAt) * 1000);
        else failed++;
        if (++settled === total) resolve();
      };
      req.on("close", done);
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        send();
        sent++;
      }
      if (sent < total) setTimeout(tick, 0);
    };
    tick();
  });
  session.close();
  const send = process.send?.bind(process);
  if (send) await new Promise<void>((sent) => send({ latenciesUs, failed }, () => sent()));
}

if (kind === "rate") {
  const [url, rate, seconds, bodyFile] = process.argv.slice(3);
  await runFixedRate(url as string, Number(rate), Number(seconds), bodyFile);
  process.disconnect?.();
} else {
  const port = await start();
  process.send?.({ port });
  process.on("message", (m) => {
    if (m === "count") process.send?.({ count });
  });
}
