import type { DescService } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import {
  type CallPolicyOverride,
  createResilientTransport,
  type PolicyRegistry,
  type ResilienceEvents,
} from "../resilience/index.js";
import { type ClosableTransport, createTransport } from "../transport/index.js";

/** One upstream service (or several behind one address) the gateway forwards to. */
export interface GatewayUpstream {
  /** The services it serves; only their `visibility: PUBLIC` methods are exposed. */
  readonly services: readonly DescService[];
  /**
   * Where it listens, e.g. `http://127.0.0.1:8080`: the gateway builds the default client
   * transport for it (protomesh's lean `http2`, the fastest in the tree). Give `transport`
   * instead to choose.
   */
  readonly baseUrl?: string | undefined;
  /** The gRPC transport to call it on (e.g. protomesh's lean http2 transport). */
  readonly transport?: Transport | undefined;
  /** Names the backend for circuits, bulkheads and budgets; default `baseUrl`. */
  readonly target?: string | undefined;
  /** Policy over the contract's, for every method (e.g. a shorter deadline at the edge). */
  readonly policy?: CallPolicyOverride | undefined;
  readonly events?: ResilienceEvents | undefined;
  readonly registry?: PolicyRegistry | undefined;
}

/** A service's resilient transport and the raw one under it (for health checks). */
export interface ResolvedUpstream {
  readonly services: readonly DescService[];
  /** Calls go through this: the contract's deadline, retries where safe, breaker, bulkhead. */
  readonly resilient: Transport;
  /** Health checks go straight to the wire. */
  readonly raw: Transport;
  readonly close: () => void;
}

/** Builds every upstream's client once; each call goes through protomesh's resilient transport. */
export function resolveUpstreams(upstreams: readonly GatewayUpstream[]): ResolvedUpstream[] {
  return upstreams.map((u, i) => {
    let raw: Transport;
    let closable: ClosableTransport | undefined;
    if (u.transport) raw = u.transport;
    else if (u.baseUrl) {
      closable = createTransport({ baseUrl: u.baseUrl });
      raw = closable;
    } else throw new TypeError(`gateway upstream ${i}: give baseUrl or transport`);
    const target = u.target ?? u.baseUrl ?? `upstream-${i}`;
    const resilient = createResilientTransport({
      transport: raw,
      target,
      policy: u.policy,
      events: u.events,
      registry: u.registry,
    });
    return { services: u.services, resilient, raw, close: () => closable?.close() };
  });
}
