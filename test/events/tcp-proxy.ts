import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy on 127.0.0.1 in front of a port, whose connections a test can cut at will. */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every proxied connection (both sides), as a network failure would. */
  cut(): void;
  /** While down, new connections are refused (closed at once) and live ones are cut. */
  setDown(down: boolean): void;
  /** Connections cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let cuts = 0;
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no proxy port");
  const proxy: TcpProxy = {
    port: address.port,
    cut() {
      for (const [a, b] of pairs) {
        cuts++;
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    setDown(value) {
      down = value;
      if (value) proxy.cut();
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
  return proxy;
}
