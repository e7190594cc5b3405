import { isDeepStrictEqual } from 'node:util';

/**
 * Headers exchange matching as RabbitMQ does it: `x-match` is all (default), any, all-with-x or
 * any-with-x; other binding arguments must equal the message header of the same name, and a
 * binding argument with no value (void) only asks that the header be present.
 */
export function headersMatch(
  bindingArgs: Record<string, unknown>,
  headers: Readonly<Record<string, unknown>> | undefined,
): boolean {
  const mode = typeof bindingArgs['x-match'] === 'string' ? bindingArgs['x-match'] : 'all';
  const any = mode === 'any' || mode === 'any-with-x';
  const withX = mode.endsWith('-with-x');
  let considered = 0;
  for (const key of Object.keys(bindingArgs)) {
    if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
    considered++;
    const want = bindingArgs[key];
    const ok =
      headers !== undefined &&
      Object.prototype.hasOwnProperty.call(headers, key) &&
      (want === undefined || want === null || isDeepStrictEqual(headers[key], want));
    if (any && ok) return true;
    if (!any && !ok) return false;
  }
  return !any || considered === 0 ? !any : false;
}
