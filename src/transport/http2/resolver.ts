import { isIP } from "node:net";
import type { Address } from "./address.js";

/**
 * Turns a target's name into addresses. The channel calls `resolve` at start, when a
 * connection is lost, on GOAWAY and at an interval (rate-limited), and moves traffic to what
 * it answers. Inject one to use another discovery system, or in tests.
 */
export interface Resolver {
  /** The current addresses; rejects when the name cannot be resolved now. */
  resolve(): Promise<readonly Address[]>;
}

/** A fixed list of addresses (`ipv4:`, `ipv6:`, `unix:` targets and IP literals). */
export function createStaticResolver(addresses: readonly Address[]): Resolver {
  const answer = Promise.resolve(addresses);
  return { resolve: () => answer };
}

/**
 * DNS: every address the system resolver (getaddrinfo, so /etc/hosts too) returns for `host`,
 * as gRPC's DNS resolver does. An IP literal resolves to itself without a lookup.
 */
export function createDnsResolver(host: string, port: number): Resolver {
  if (isIP(host) !== 0) return createStaticResolver([{ host, port }]);
  return {
    async resolve() {
      // Loaded on the first lookup: an IP literal never needs the DNS module.
      const answers = await process
        .getBuiltinModule("node:dns")
        .promises.lookup(host, { all: true });
      if (answers.length === 0) throw new Error(`no address for ${host}`);
      return answers.map((answer) => ({ host: answer.address, port }));
    },
  };
}
