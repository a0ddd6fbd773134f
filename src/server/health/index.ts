export type { Health } from "./create-health.js";
export { createHealth, ServingStatus } from "./create-health.js";
