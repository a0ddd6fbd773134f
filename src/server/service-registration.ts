import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

/**
 * One service and its implementation, written against Connect's `ServiceImpl`. This is the
 * only shape services are written against: whichever engine serves the bytes (connect-node
 * today, a lean gRPC path or grpc-js tomorrow) reads the same registration.
 */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly impl: Partial<ServiceImpl<DescService>>;
}

/** Pairs a generated service with its implementation, type-checked against each other. */
export function defineService<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
): ServiceRegistration {
  // The pair is checked here, at the only place it is built; engines read it generically.
  return { service, impl: impl as Partial<ServiceImpl<DescService>> };
}
