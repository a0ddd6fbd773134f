import type { HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  Health as HealthService,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../gen/grpc/health/v1/health_pb.js";
import { defineService, type ServiceRegistration } from "../service-registration.js";

export { ServingStatus };

/**
 * The server's health, as `grpc.health.v1.Health` reports it to load balancers, Kubernetes
 * probes (`grpc_health_probe`, native gRPC probes) and clients. "" is the whole server.
 */
export interface Health {
  /** Sets a service's status ("" = the server); Watch streams see the change at once. */
  setStatus(service: string, status: ServingStatus): void;
  /** The status of a known service, undefined when unknown. */
  getStatus(service: string): ServingStatus | undefined;
  /**
   * Everything NOT_SERVING and further changes ignored, as gRPC's health servers do on
   * shutdown; open Watch streams get the change and end, so they do not hold the drain up.
   */
  shutdown(): void;
  /** The `Health` service implementation to register. */
  readonly registration: ServiceRegistration;
}

type Listener = (status: ServingStatus) => void;

/** Builds the health service; `createServer` registers one by default. */
export function createHealth(): Health {
  const statuses = new Map<string, ServingStatus>();
  const listeners = new Map<string, Set<Listener>>();
  const endWatches = new Set<() => void>();
  let shutDown = false;

  const publish = (service: string, status: ServingStatus) => {
    statuses.set(service, status);
    for (const listener of listeners.get(service) ?? []) listener(status);
  };

  async function* watch(service: string, context: HandlerContext) {
    // Hand-written: a queue of the statuses to send, latest-wins as the protocol allows.
    let pending: ServingStatus | undefined = statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
    let ended = false;
    let wake: (() => void) | undefined;
    const listener: Listener = (status) => {
      pending = status;
      wake?.();
    };
    const end = () => {
      ended = true;
      wake?.();
    };
    const onAbort = () => end();
    const set = listeners.get(service) ?? new Set<Listener>();
    listeners.set(service, set);
    set.add(listener);
    endWatches.add(end);
    context.signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (pending !== undefined) {
          const status: ServingStatus = pending;
          pending = undefined;
          yield { status };
        }
        if (ended || context.signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (pending !== undefined || ended) resolve();
        });
        wake = undefined;
      }
    } finally {
      set.delete(listener);
      endWatches.delete(end);
      context.signal.removeEventListener("abort", onAbort);
    }
  }

  const registration = defineService(HealthService, {
    check({ service }) {
      const status = statuses.get(service);
      if (status === undefined) {
        throw new ConnectError(`unknown service ${service}`, Code.NotFound);
      }
      return { status };
    },
    watch: ({ service }, context) => watch(service, context),
  });

  return {
    registration,
    setStatus(service, status) {
      if (!shutDown) publish(service, status);
    },
    getStatus: (service) => statuses.get(service),
    shutdown() {
      if (shutDown) return;
      for (const service of statuses.keys()) publish(service, ServingStatus.NOT_SERVING);
      shutDown = true;
      for (const end of [...endWatches]) end();
    },
  };
}
