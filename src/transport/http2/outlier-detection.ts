import type { Subchannel } from "./subchannel.js";

/** Success-rate ejection (A50 `success_rate_ejection`). */
export interface SuccessRateEjection {
  /** An endpoint is ejected below mean − stdev × stdevFactor / 1000. Default 1900. */
  readonly stdevFactor?: number;
  /** Chance (percent) that an outlier found is ejected. Default 100. */
  readonly enforcementPercentage?: number;
  /** Endpoints with enough calls needed to judge at all. Default 5. */
  readonly minimumHosts?: number;
  /** Calls in the interval an endpoint needs to be judged. Default 100. */
  readonly requestVolume?: number;
}

/** Failure-percentage ejection (A50 `failure_percentage_ejection`). */
export interface FailurePercentageEjection {
  /** An endpoint failing more than this percent of its calls is ejected. Default 85. */
  readonly threshold?: number;
  /** Chance (percent) that an outlier found is ejected. Default 100. */
  readonly enforcementPercentage?: number;
  /** Endpoints with enough calls needed to judge at all. Default 5. */
  readonly minimumHosts?: number;
  /** Calls in the interval an endpoint needs to be judged. Default 50. */
  readonly requestVolume?: number;
}

/**
 * Outlier detection per endpoint, as gRPC's A50 (and Envoy) define it. Off unless given; every
 * field left out takes A50's default. A call counts as failed when it ends with Unavailable,
 * Internal, Unknown, DeadlineExceeded or DataLoss, or without a status: the codes that say the
 * endpoint is unwell (A50 counts every non-OK status; a NotFound is a backend working).
 */
export interface OutlierDetectionOptions {
  /** How often endpoints are judged and ejections end. Default 10 s. */
  readonly intervalMs?: number;
  /** Ejection time, times the endpoint's ejection count. Default 30 s. */
  readonly baseEjectionTimeMs?: number;
  /** Longest ejection (at least `baseEjectionTimeMs`). Default 300 s. */
  readonly maxEjectionTimeMs?: number;
  /** Never eject when this percent of endpoints or more are ejected. Default 10. */
  readonly maxEjectionPercent?: number;
  /** Default on with A50's values; `null` turns it off. */
  readonly successRate?: SuccessRateEjection | null;
  /** Default on with A50's values; `null` turns it off. */
  readonly failurePercentage?: FailurePercentageEjection | null;
}

/** Running outlier detection over a channel's subchannels. */
export interface OutlierDetection {
  stop(): void;
}

/**
 * Hand-written (A50's algorithm lives inside grpc-js's LB tree and cannot be borrowed): every
 * interval, the call counters of each subchannel are judged and reset, outliers are ejected
 * (the load balancer skips them), and ejections whose time is up end. `changed` tells the
 * channel to re-read the subchannels' `ejected` flags.
 */
export function startOutlierDetection(
  options: OutlierDetectionOptions,
  subchannels: () => readonly Subchannel[],
  changed: () => void,
  random: () => number = Math.random,
): OutlierDetection {
  const intervalMs = options.intervalMs ?? 10_000;
  const baseMs = options.baseEjectionTimeMs ?? 30_000;
  const maxMs = Math.max(baseMs, options.maxEjectionTimeMs ?? 300_000);
  const maxPercent = options.maxEjectionPercent ?? 10;
  const successRate = options.successRate === null ? undefined : (options.successRate ?? {});
  const failurePercentage =
    options.failurePercentage === null ? undefined : (options.failurePercentage ?? {});

  const tick = () => {
    const now = performance.now();
    const all = subchannels();
    let ejectedCount = all.filter((s) => s.ejected).length;
    let changes = false;
    const eject = (s: Subchannel, enforcement: number) => {
      if (s.ejected || (ejectedCount * 100) / all.length >= maxPercent) return;
      if (random() * 100 >= enforcement) return;
      s.ejected = true;
      s.ejections++;
      s.ejectedUntil = now + Math.min(baseMs * s.ejections, maxMs);
      ejectedCount++;
      changes = true;
    };
    if (successRate) {
      const volume = successRate.requestVolume ?? 100;
      const judged = all.filter((s) => s.counters.successes + s.counters.failures >= volume);
      if (judged.length >= (successRate.minimumHosts ?? 5)) {
        const rates = judged.map(rateOf);
        const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
        const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
        const floor = mean - Math.sqrt(variance) * ((successRate.stdevFactor ?? 1900) / 1000);
        for (const s of judged) {
          if (rateOf(s) < floor) eject(s, successRate.enforcementPercentage ?? 100);
        }
      }
    }
    if (failurePercentage) {
      const volume = failurePercentage.requestVolume ?? 50;
      const judged = all.filter((s) => s.counters.successes + s.counters.failures >= volume);
      if (judged.length >= (failurePercentage.minimumHosts ?? 5)) {
        const threshold = failurePercentage.threshold ?? 85;
        for (const s of judged) {
          if ((1 - rateOf(s)) * 100 > threshold) {
            eject(s, failurePercentage.enforcementPercentage ?? 100);
          }
        }
      }
    }
    for (const s of all) {
      s.counters.successes = 0;
      s.counters.failures = 0;
      if (s.ejected) {
        if (now >= s.ejectedUntil) {
          s.ejected = false;
          changes = true;
        }
      } else if (s.ejections > 0) {
        // A50: each interval spent not ejected lowers the multiplier.
        s.ejections--;
      }
    }
    if (changes) changed();
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

function rateOf(s: Subchannel): number {
  const total = s.counters.successes + s.counters.failures;
  return total === 0 ? 1 : s.counters.successes / total;
}
