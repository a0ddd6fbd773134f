export type { ReflectionOptions } from "./create-reflection-services.js";
export { createReflectionServices } from "./create-reflection-services.js";
