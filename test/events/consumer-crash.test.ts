import { type ChildProcess, spawn } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/acme/order/v1/order_events_pb.js";
import { createAmqpEventBus } from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";

let vhost: BrokerVhost;
beforeAll(() => {
  vhost = createBrokerVhost("crash");
});
afterAll(() => vhost?.delete());

function waitForLine(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`no "${prefix}" from the child`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split("\n").find((l) => l.startsWith(prefix));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on("exit", (code) => reject(new Error(`child exited (${code}) before "${prefix}"`)));
  });
}

describe("consumer crash (fault test)", () => {
  it("redelivers the events of a consumer killed mid-handler, and loses none", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/events/fixtures/hanging-consumer.ts", vhost.url, "crashy"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await waitForLine(child, "subscribed");
      const bus = await createAmqpEventBus({ url: vhost.url });
      const handling = waitForLine(child, "handling ");
      for (let i = 0; i < 5; i++) {
        await bus.publish(OrderCreatedSchema, create(OrderCreatedSchema, { orderId: `ord_${i}` }));
      }
      expect(await handling).toBe("handling ord_0");
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));

      const seen = new Map<string, boolean>();
      await bus.subscribe(
        OrderCreatedSchema,
        (m, context) => void seen.set(m.orderId, context.attempt === 1),
        { queue: "crashy" },
      );
      const deadline = Date.now() + 20_000;
      while (seen.size < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect([...seen.keys()].sort()).toEqual(["ord_0", "ord_1", "ord_2", "ord_3", "ord_4"]);
      await bus.close();
    } finally {
      child.kill("SIGKILL");
    }
  });
});
