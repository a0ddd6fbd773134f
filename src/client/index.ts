export type { ClientOptions } from "./create-client.js";
export { createClient } from "./create-client.js";
