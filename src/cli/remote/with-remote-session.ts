import type { ParsedVerbArgs } from "../parse-verb-args.js";
import { remoteFailure } from "./remote-failure.js";
import { readRemoteOptions } from "./remote-options.js";
import { openRemoteSession, type RemoteSession } from "./remote-session.js";

/**
 * Runs `work` on a session to `url` and always closes it; any failure comes out as the one
 * clear message of `remoteFailure`.
 */
export async function withRemoteSession<T>(
  verb: string,
  parsed: ParsedVerbArgs,
  url: string,
  work: (session: RemoteSession) => Promise<T>,
): Promise<T> {
  const session = await openRemoteSession(readRemoteOptions(verb, parsed, url));
  try {
    return await work(session);
  } catch (error) {
    throw remoteFailure(error, session);
  } finally {
    session.close();
  }
}
