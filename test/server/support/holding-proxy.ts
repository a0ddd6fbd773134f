import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 whose server-to-client direction can be held back: a test can let a
 * client send on a connection whose server has already said GOAWAY, before the client hears it.
 */
export interface HoldingProxy {
  readonly url: string;
  /** From now on, bytes from the server wait in the proxy. */
  hold(): void;
  /** Bytes the client sent while the server's were held. */
  readonly sentWhileHolding: number;
  /** Delivers what was held, and everything after it. */
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(targetPort: number): Promise<HoldingProxy> {
  let holding = false;
  let sentWhileHolding = 0;
  const held: { socket: Socket; chunk: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const closedWhileHolding: Socket[] = [];
  const proxy: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("data", (chunk: Buffer) => {
      if (holding) sentWhileHolding += chunk.length;
      upstream.write(chunk);
    });
    // Either side gone: so is the other, as with a direct connection.
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      if (holding) closedWhileHolding.push(client);
      else client.destroy();
    });
    upstream.on("data", (chunk: Buffer) => {
      if (holding) held.push({ socket: client, chunk });
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get sentWhileHolding() {
      return sentWhileHolding;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const { socket, chunk } of held.splice(0)) socket.write(chunk);
      for (const socket of closedWhileHolding.splice(0)) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => proxy.close(() => resolve()));
    },
  };
}
