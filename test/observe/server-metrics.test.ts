import { describe, expect, it } from "vitest";
import { createServerMetrics } from "../../src/observe/index.js";

describe("createServerMetrics", () => {
  it("exposes cumulative latency buckets, sum and count, calls by code and in-flight", async () => {
    const metrics = createServerMetrics({ buckets: [0.001, 0.01, 0.1] });
    const say = metrics.forMethod("test.v1.Svc", "Say");
    say.started();
    say.started();
    say.started();
    say.handled("OK", 0.0005);
    say.handled("NOT_FOUND", 0.05);
    const text = await metrics.registry.metrics();
    const labels = 'grpc_service="test.v1.Svc",grpc_method="Say"';
    expect(text).toContain(`grpc_server_handling_seconds_bucket{${labels},le="0.001"} 1`);
    expect(text).toContain(`grpc_server_handling_seconds_bucket{${labels},le="0.01"} 1`);
    expect(text).toContain(`grpc_server_handling_seconds_bucket{${labels},le="0.1"} 2`);
    expect(text).toContain(`grpc_server_handling_seconds_bucket{${labels},le="+Inf"} 2`);
    expect(text).toContain(`grpc_server_handling_seconds_sum{${labels}} 0.0505`);
    expect(text).toContain(`grpc_server_handling_seconds_count{${labels}} 2`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="OK"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="NOT_FOUND"} 1`);
    expect(text).toContain(`grpc_server_in_flight{${labels}} 1`);
    expect(text).toContain("# TYPE grpc_server_handling_seconds histogram");
  });
});
