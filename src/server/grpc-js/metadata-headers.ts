/** Whether a Headers object holds anything (so empty header frames are not sent early). */
export function hasHeaders(headers: Headers): boolean {
  for (const _ of headers.keys()) return true;
  return false;
}
