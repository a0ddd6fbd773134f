import { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAmqpConnection } from "../../src/events/index.js";
import { type BrokerVhost, createBrokerVhost } from "./broker-vhost.js";

let vhost: BrokerVhost;
beforeAll(() => {
  vhost = createBrokerVhost("conn");
});
afterAll(() => {
  vhost?.delete();
});

describe("AMQP connection", () => {
  it("turns Nagle's algorithm off on its socket (amqplib leaves it on)", async () => {
    const setNoDelay = vi.spyOn(Socket.prototype, "setNoDelay");
    try {
      const connection = await createAmqpConnection({ url: vhost.url });
      await connection.ready();
      expect(connection.current()).toBeDefined();
      expect(setNoDelay).toHaveBeenCalled();
      expect(setNoDelay.mock.calls.at(-1)?.[0]).toBe(true);
      await connection.close();
    } finally {
      setNoDelay.mockRestore();
    }
  });
});
