import type { Subchannel } from "./subchannel.js";

/** Picks the subchannel of each call among the channel's, as a gRPC LB policy does. */
export interface LoadBalancer {
  /** The subchannel list, a state or an ejection changed. */
  update(subchannels: readonly Subchannel[]): void;
  /** A ready, non-ejected subchannel for the next call, or undefined when there is none. */
  pick(): Subchannel | undefined;
  /** No subchannel was ready for a call: start connecting the ones this policy uses. */
  exitIdle(): void;
  /** Some subchannel this policy would use is connecting or may still connect. */
  pending(): boolean;
}

/** The load-balancing policies of the http2 channel, by their gRPC service-config names. */
export type LoadBalancingPolicy = "pick_first" | "round_robin";
