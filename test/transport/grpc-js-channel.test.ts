import { describe, expect, it } from "vitest";
import { grpcJsChannelOptions } from "../../src/transport/grpc-js-channel.js";

describe("grpc-js channel options", () => {
  it("balances round-robin by default, with grpc-js retries off and DNS service configs ignored", () => {
    const options = grpcJsChannelOptions({ target: "dns:///inventory:8443" });
    expect(JSON.parse(options["grpc.service_config"] ?? "")).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
    });
    expect(options["grpc.enable_retries"]).toBe(0);
    expect(options["grpc.service_config_disable_resolution"]).toBe(1);
    expect(options["grpc.keepalive_time_ms"]).toBeUndefined();
  });

  it("keeps retries off whatever the extra channel options say", () => {
    const options = grpcJsChannelOptions({
      target: "x:1",
      loadBalancing: "pick_first",
      channelOptions: {
        "grpc.enable_retries": 1,
        "grpc.service_config": '{"methodConfig":[{"retryPolicy":{}}]}',
        "grpc.initial_reconnect_backoff_ms": 100,
      },
    });
    expect(options["grpc.enable_retries"]).toBe(0);
    expect(options["grpc.service_config"]).toBe('{"loadBalancingConfig":[{"pick_first":{}}]}');
    expect(options["grpc.initial_reconnect_backoff_ms"]).toBe(100);
  });

  it("maps keepalive, message limits and the TLS server name to their GRPC_ARG_* options", () => {
    const options = grpcJsChannelOptions({
      target: "x:1",
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 5_000,
      keepalivePermitWithoutCalls: true,
      maxReceiveMessageBytes: 1024,
      maxSendMessageBytes: 2048,
      tls: { serverName: "inventory.internal" },
    });
    expect(options).toMatchObject({
      "grpc.keepalive_time_ms": 60_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.max_receive_message_length": 1024,
      "grpc.max_send_message_length": 2048,
      "grpc.ssl_target_name_override": "inventory.internal",
      "grpc.default_authority": "inventory.internal",
    });
  });
});
