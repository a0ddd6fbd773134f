import { create } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";

/**
 * Watches each upstream's `grpc.health.v1.Health/Check` (whole server, `""`) every
 * `intervalMs`: the gateway is ready while at least one upstream answers SERVING.
 */
export class UpstreamHealth {
  private readonly serving: boolean[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly upstreams: readonly Transport[],
    private readonly intervalMs: number,
  ) {
    this.serving = upstreams.map(() => false);
  }

  /** True while any upstream is SERVING. */
  get ready(): boolean {
    return this.serving.includes(true);
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
    return this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checks every upstream now. */
  async check(): Promise<void> {
    const request = create(HealthCheckRequestSchema, { service: "" });
    await Promise.all(
      this.upstreams.map(async (t, i) => {
        try {
          const res = await t.unary(
            Health.method.check,
            undefined,
            Math.min(this.intervalMs, 2_000),
            undefined,
            request,
            undefined,
          );
          this.serving[i] = res.message.status === HealthCheckResponse_ServingStatus.SERVING;
        } catch {
          this.serving[i] = false;
        }
      }),
    );
  }
}
