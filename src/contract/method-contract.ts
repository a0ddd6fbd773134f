import { type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  type CallPolicy,
  default_policy,
  policy,
  Visibility,
} from "../../gen/protomesh/options/v1/options_pb.js";

/** How safe a method is to call again, from its `idempotency_level`. */
export type Idempotency = "no-side-effects" | "idempotent" | "unknown";

/** What the contract (the `.proto`) says about one method, read from its descriptors. */
export interface MethodContract {
  /** `NO_SIDE_EFFECTS` and `IDEMPOTENT` methods may be retried and hedged; others may not. */
  readonly idempotency: Idempotency;
  /** The service's `(protomesh.options.v1.default_policy)`, if written. */
  readonly servicePolicy: CallPolicy | undefined;
  /** The method's `(protomesh.options.v1.policy)`, if written. */
  readonly methodPolicy: CallPolicy | undefined;
  /**
   * Who may call the method: the method's visibility, else the service's, else `internal`
   * (the safe default: nothing is exposed to browsers unless the contract says so).
   */
  readonly visibility: "public" | "internal";
}

/**
 * Reads a method's contract from its generated descriptor. Options are read at runtime, so
 * they must keep the default retention (see options.proto).
 */
export function readMethodContract(method: DescMethod): MethodContract {
  const servicePolicy = hasOption(method.parent, default_policy)
    ? getOption(method.parent, default_policy)
    : undefined;
  const methodPolicy = hasOption(method, policy) ? getOption(method, policy) : undefined;
  const visibility =
    visibilityOf(methodPolicy?.visibility) ?? visibilityOf(servicePolicy?.visibility) ?? "internal";
  return {
    idempotency: idempotencyOf(method.idempotency),
    servicePolicy,
    methodPolicy,
    visibility,
  };
}

/** True when a repeated call cannot do harm twice: the condition for retries and hedging. */
export function isIdempotent(contract: Pick<MethodContract, "idempotency">): boolean {
  return contract.idempotency !== "unknown";
}

function idempotencyOf(level: MethodOptions_IdempotencyLevel): Idempotency {
  switch (level) {
    case MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS:
      return "no-side-effects";
    case MethodOptions_IdempotencyLevel.IDEMPOTENT:
      return "idempotent";
    default:
      return "unknown";
  }
}

function visibilityOf(value: Visibility | undefined): "public" | "internal" | undefined {
  if (value === Visibility.PUBLIC) return "public";
  if (value === Visibility.INTERNAL) return "internal";
  return undefined;
}
