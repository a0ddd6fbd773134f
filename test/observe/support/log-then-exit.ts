/**
 * Logs through a batched destination into argv[2], then leaves at once the way argv[3] says:
 * "exit" (process.exit in the same turn) or "throw" (an uncaught exception).
 */
import { pino } from "pino";
import { createBatchedLogDestination } from "../../../src/observe/index.js";

const [, , file, how] = process.argv;
const log = pino({}, createBatchedLogDestination({ dest: file as string }));
for (let i = 0; i < 3; i++) log.info({ i }, "before leaving");
if (how === "throw") throw new Error("crash after logging");
process.exit(0);
