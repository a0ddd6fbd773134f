import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createContextValues } from "@connectrpc/connect";
import ts from "typescript";
import { afterEach, expect, it } from "vitest";
import { OrderSchema, OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { type ClientOptionsWithUrl, createClient } from "../../src/client/index.js";
import { createServer, defineService, type Server } from "../../src/index.js";
import { attemptsOf, callPolicyKey } from "../../src/resilience/index.js";

let server: Server | undefined;
afterEach(() => server?.close());

/** The README's fenced `ts` block that contains `marker`, read from README.md at test time. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? "");
  const found = blocks.filter((block) => block.includes(marker));
  if (found.length !== 1) throw new Error(`expected one README block with ${marker}`);
  return found[0] ?? "";
}

type OrderClient = Client<typeof OrderService>;

// The README's own example, run as it is written (only its base URL is pointed at this test's
// server, through the createClient it is given), so the docs cannot drift from the code.
it("runs the README example", async () => {
  let calls = 0;
  server = createServer({
    services: [
      defineService(OrderService, {
        getOrder: () => {
          calls++;
          throw new ConnectError("down", Code.Unavailable);
        },
        cancelOrder: () => ({ order: create(OrderSchema, { orderId: "ord_0001" }) }),
      }),
    ],
  });
  const { url } = await server.listen();

  const block = readmeBlock("createClient(OrderService");
  const { outputText } = ts.transpileModule(block, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  const warned: unknown[][] = [];
  const log = { warn: (...args: unknown[]) => warned.push(args) };
  let orders: OrderClient | undefined;
  const pointedAtTestServer = (
    service: typeof OrderService,
    options: ClientOptionsWithUrl<typeof OrderService>,
  ) => {
    orders = createClient(service, { ...options, baseUrl: url });
    return orders;
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<unknown>;
  const example = new AsyncFunction(
    "createClient",
    "OrderService",
    "createContextValues",
    "callPolicyKey",
    "log",
    outputText,
  );
  const run = example(pointedAtTestServer, OrderService, createContextValues, callPolicyKey, log);

  // Always a ConnectError: here the server's Unavailable after the 2 attempts the call allows.
  await expect(run).rejects.toBeInstanceOf(ConnectError);
  await expect(run).rejects.toMatchObject({ code: Code.Unavailable });
  await expect(run.catch((error: unknown) => attemptsOf(error))).resolves.toBe(2);
  expect(calls).toBe(2);
  // The example's onRetry event fired once, between the two attempts.
  expect(warned).toEqual([[expect.objectContaining({ attempt: 1 }), "retrying"]]);
  expect((await orders?.cancelOrder({}))?.order?.orderId).toBe("ord_0001");
});
