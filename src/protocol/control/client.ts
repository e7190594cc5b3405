import { connect } from 'node:net';

/**
 * Send one control request and resolve with its reply (the parsed JSON line). Rejects when the
 * socket cannot be reached, with the system error (its `code`: ENOENT, ECONNREFUSED, EACCES).
 */
export function controlRequest(
  path: string,
  request: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    let done = false;
    const finish = (err: Error | undefined, reply?: Record<string, unknown>): void => {
      if (done) return;
      done = true;
      s.destroy();
      if (err !== undefined) reject(err);
      else resolve(reply!);
    };
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${JSON.stringify(request)}\n`));
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish(undefined, JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch (err) {
        finish(new Error(`the broker's reply is not JSON: ${(err as Error).message}`));
      }
    });
    s.on('error', (err) => finish(err));
    s.on('close', () => finish(new Error('the broker closed the control socket without a reply')));
  });
}
