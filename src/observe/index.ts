export { correlationIdFrom, correlationIdHeader } from "./correlation-id.js";
