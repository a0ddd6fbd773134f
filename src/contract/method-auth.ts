import type { DescMethod } from "@bufbuild/protobuf";
import {
  Authentication,
  type AuthPolicy,
  Match,
} from "../../gen/protomesh/options/v1/options_pb.js";
import { type MethodContract, readMethodContract } from "./method-contract.js";

/** How a list of required values is matched. */
export type AuthMatch = "any-of" | "all-of";

/**
 * Who may call one method, resolved from its contract: the method's `auth` over the
 * service's `default_policy.auth`, field by field, over the library defaults.
 */
export interface MethodAuth {
  /** Typed name, e.g. "/acme.order.v1.OrderService/GetOrder", for error messages. */
  readonly name: string;
  /**
   * Must the caller be authenticated? Default: yes for PUBLIC methods, no for INTERNAL ones
   * (any requirement below implies yes).
   */
  readonly authenticationRequired: boolean;
  readonly scopes: readonly string[];
  /** Default all-of: a method that names scopes needs each of them. */
  readonly scopesMatch: AuthMatch;
  readonly roles: readonly string[];
  /** Default any-of: roles are alternatives (admin or operator). */
  readonly rolesMatch: AuthMatch;
  /** Client-certificate identities allowed to call; empty means any. */
  readonly identities: readonly string[];
  /** The contract writes an `auth` policy (service or method): enforced on every server. */
  readonly explicit: boolean;
}

/** The library defaults, in one place. */
export const authDefaults = {
  scopesMatch: "all-of",
  rolesMatch: "any-of",
} as const;

/** Reads a method's auth policy from its contract (see `MethodAuth` for the defaults). */
export function readMethodAuth(
  method: DescMethod,
  contract: MethodContract = readMethodContract(method),
): MethodAuth {
  const service = contract.servicePolicy?.auth;
  const own = contract.methodPolicy?.auth;
  const scopes = listOf(own, service, "scopes");
  const roles = listOf(own, service, "roles");
  const identities = listOf(own, service, "identities");
  const authentication = pickEnum(own?.authentication, service?.authentication);
  const required =
    authentication === Authentication.REQUIRED ||
    (authentication !== Authentication.OPTIONAL && contract.visibility === "public") ||
    scopes.length > 0 ||
    roles.length > 0 ||
    identities.length > 0;
  return {
    name: `/${method.parent.typeName}/${method.name}`,
    authenticationRequired: required,
    scopes,
    scopesMatch:
      matchOf(pickEnum(own?.scopesMatch, service?.scopesMatch)) ?? authDefaults.scopesMatch,
    roles,
    rolesMatch: matchOf(pickEnum(own?.rolesMatch, service?.rolesMatch)) ?? authDefaults.rolesMatch,
    identities,
    explicit: own !== undefined || service !== undefined,
  };
}

function listOf(
  own: AuthPolicy | undefined,
  service: AuthPolicy | undefined,
  field: "scopes" | "roles" | "identities",
): readonly string[] {
  // A list written on the method replaces the service's; an empty one inherits it.
  const mine = own?.[field];
  if (mine && mine.length > 0) return Object.freeze([...mine]);
  return Object.freeze([...(service?.[field] ?? [])]);
}

function pickEnum<E extends number>(own: E | undefined, service: E | undefined): E | undefined {
  if (own) return own;
  if (service) return service;
  return undefined;
}

function matchOf(value: Match | undefined): AuthMatch | undefined {
  if (value === Match.ANY_OF) return "any-of";
  if (value === Match.ALL_OF) return "all-of";
  return undefined;
}
