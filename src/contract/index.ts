export type { AuthMatch, MethodAuth } from "./method-auth.js";
export { authDefaults, readMethodAuth } from "./method-auth.js";
export type { Idempotency, MethodContract } from "./method-contract.js";
export { isIdempotent, readMethodContract } from "./method-contract.js";
