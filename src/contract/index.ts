export type { Idempotency, MethodContract } from "./method-contract.js";
export { isIdempotent, readMethodContract } from "./method-contract.js";
