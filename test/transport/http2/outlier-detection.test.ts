// Outlier detection (gRPC A50) with three backends on 127.0.0.1, one of which starts failing.
import { afterEach, describe, expect, it } from "vitest";
import { startOutlierDetection } from "../../../src/transport/http2/outlier-detection.js";
import type { Subchannel } from "../../../src/transport/http2/subchannel.js";
import {
  createHttp2Transport,
  type Http2Transport,
  type OutlierDetectionOptions,
} from "../../../src/transport/index.js";
import { echoClient, eventually, startNamedServer } from "./support.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const outlierDetection: OutlierDetectionOptions = {
  intervalMs: 200,
  baseEjectionTimeMs: 800,
  maxEjectionPercent: 10,
  successRate: null,
  failurePercentage: { minimumHosts: 3, requestVolume: 5, threshold: 50 },
};

async function threeBackends() {
  const servers = [
    await startNamedServer("a"),
    await startNamedServer("b"),
    await startNamedServer("c"),
  ];
  for (const s of servers) cleanups.push(s.close);
  const made: Http2Transport = createHttp2Transport({
    target: `ipv4:${servers.map((s) => `127.0.0.1:${s.port}`).join(",")}`,
    outlierDetection,
  });
  cleanups.push(() => made.close());
  const echo = echoClient(made);
  await echo.echo({});
  await eventually(() => made.channel.subchannels.every((s) => s.state === "ready"));
  let running = true;
  const load = (async () => {
    while (running) {
      await echo.echo({}).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  cleanups.push(async () => {
    running = false;
    await load;
  });
  const subchannelOf = (port: number) =>
    made.channel.subchannels.find((s) => s.key === `127.0.0.1:${port}`);
  return { servers, subchannelOf };
}

/** Calls a backend receives over `ms`. */
async function callsDuring(server: { calls(): number }, ms: number): Promise<number> {
  const before = server.calls();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return server.calls() - before;
}

describe("outlier detection", () => {
  it("ejects a failing backend within the interval, and takes it back once healed", async () => {
    const { servers, subchannelOf } = await threeBackends();
    const [a, b, c] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    expect(await callsDuring(b, 200)).toBeGreaterThan(0);
    b.setFailing(true);
    // Two intervals: one to gather the failures, one to judge them.
    await eventually(() => subchannelOf(b.port)?.ejected === true, 2_000);
    expect(await callsDuring(b, 300)).toBe(0);
    expect(await callsDuring(a, 100)).toBeGreaterThan(0);
    expect(await callsDuring(c, 100)).toBeGreaterThan(0);
    b.setFailing(false);
    // Back after the base ejection time (800 ms × 1), at the next interval.
    await eventually(() => subchannelOf(b.port)?.ejected === false, 3_000);
    expect(await callsDuring(b, 300)).toBeGreaterThan(0);
  });

  it("never ejects more than maxEjectionPercent of the backends (at least one may go)", async () => {
    const { servers, subchannelOf } = await threeBackends();
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    a.setFailing(true);
    b.setFailing(true);
    await eventually(
      () => subchannelOf(a.port)?.ejected === true || subchannelOf(b.port)?.ejected === true,
      2_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    const ejected = servers.filter((s) => subchannelOf(s.port)?.ejected).length;
    expect(ejected).toBe(1);
  });
});

describe("success-rate ejection (A50's algorithm, on counters)", () => {
  it("ejects the endpoint below mean − stdev × factor, for longer each time", async () => {
    const hosts = Array.from({ length: 6 }, () => ({
      ejected: false,
      ejections: 0,
      ejectedUntil: 0,
      counters: { successes: 0, failures: 0 },
    }));
    const bad = hosts[5] as (typeof hosts)[0];
    const fill = () => {
      for (const h of hosts) {
        if (h.ejected) continue;
        h.counters.successes = h === bad ? 0 : 100;
        h.counters.failures = h === bad ? 100 : 0;
      }
    };
    fill();
    let changes = 0;
    const detection = startOutlierDetection(
      { intervalMs: 20, baseEjectionTimeMs: 60, maxEjectionPercent: 50, failurePercentage: null },
      () => hosts as unknown as Subchannel[],
      () => {
        changes++;
        fill();
      },
    );
    cleanups.push(async () => detection.stop());
    await eventually(() => bad.ejected);
    const firstLeft = bad.ejectedUntil - performance.now();
    expect(hosts.filter((h) => h.ejected)).toEqual([bad]);
    await eventually(() => !bad.ejected);
    fill();
    await eventually(() => bad.ejected);
    expect(bad.ejections).toBe(2);
    // The first ejection lasts the base time, the second twice that.
    expect(firstLeft).toBeLessThanOrEqual(60);
    expect(bad.ejectedUntil - performance.now()).toBeGreaterThan(60);
    expect(changes).toBeGreaterThanOrEqual(3);
  });
});
