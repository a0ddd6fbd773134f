import type { LoadBalancer } from "./load-balancer.js";
import type { Subchannel } from "./subchannel.js";

/**
 * gRPC's `round_robin`: every address gets a connection, and calls rotate over the ready ones
 * (ejected ones skipped). Idle addresses (never connected, or whose connection was lost) are
 * connected when calls come, so a channel nobody uses holds no connection.
 */
export function createRoundRobin(): LoadBalancer {
  let all: readonly Subchannel[] = [];
  let ready: Subchannel[] = [];
  let idle = 0;
  let next = 0;
  const connectIdle = () => {
    for (const subchannel of all) if (subchannel.state === "idle") subchannel.connect();
  };
  return {
    update(subchannels) {
      all = subchannels;
      ready = subchannels.filter((s) => s.state === "ready" && !s.ejected);
      idle = 0;
      for (const s of subchannels) if (s.state === "idle") idle++;
    },
    pick() {
      if (idle > 0) connectIdle();
      const count = ready.length;
      if (count === 0) return undefined;
      if (next >= count) next = 0;
      return ready[next++];
    },
    exitIdle: connectIdle,
    pending() {
      return all.some((s) => s.state === "connecting" || s.state === "idle");
    },
  };
}
