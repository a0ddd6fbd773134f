import type { LoadBalancer } from "./load-balancer.js";
import type { Subchannel } from "./subchannel.js";

/**
 * gRPC's `pick_first`: addresses are tried in the resolver's order, one at a time, and every
 * call goes to the first that is ready (not ejected). A failed address is passed over for the
 * next until its backoff ends.
 */
export function createPickFirst(): LoadBalancer {
  let all: readonly Subchannel[] = [];
  let wanted = false;
  const tryNext = () => {
    if (all.some((s) => s.state === "connecting" || (s.state === "ready" && !s.ejected))) return;
    all.find((s) => s.state === "idle")?.connect();
  };
  return {
    update(subchannels) {
      all = subchannels;
      if (wanted) tryNext();
    },
    pick() {
      for (let i = 0; i < all.length; i++) {
        const s = all[i] as Subchannel;
        if (s.state === "ready" && !s.ejected) return s;
      }
      return undefined;
    },
    exitIdle() {
      wanted = true;
      tryNext();
    },
    pending() {
      return all.some((s) => s.state === "connecting" || s.state === "idle");
    },
  };
}
