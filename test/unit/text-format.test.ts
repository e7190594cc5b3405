import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { formatText } from '../../src/log/text-format.js';

/** What the broker's logger writes for one call, through formatText (as --log-format text). */
function textOf(log: (l: pino.Logger) => void): string {
  let out = '';
  const logger = pino(
    {
      timestamp: () => ',"time":"2026-12-02T14:03:11.512Z"',
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: formatText },
    },
    { write: (s: string) => (out += s) },
  );
  log(logger);
  return out;
}

void test('text line: time, padded level, message, then fields (no pid or hostname)', () => {
  assert.equal(
    textOf((l) => l.info({ protocol: 'http', port: 5672 }, 'amqp listening on 127.0.0.1:5672')),
    '2026-12-02T14:03:11.512Z INFO  amqp listening on 127.0.0.1:5672 protocol=http port=5672\n',
  );
  // A string the message shows word for word is not repeated; JSON keeps it.
  assert.equal(
    textOf((l) =>
      l.info(
        { peer: '127.0.0.1:50312', user: 'guest', vhost: '/' },
        "login from 127.0.0.1:50312 as 'guest'",
      ),
    ),
    "2026-12-02T14:03:11.512Z INFO  login from 127.0.0.1:50312 as 'guest' vhost=/\n",
  );
  assert.equal(
    textOf((l) => l.warn('second SIGTERM: exiting now')),
    '2026-12-02T14:03:11.512Z WARN  second SIGTERM: exiting now\n',
  );
});

void test('text values: quoted (JSON) when they hold a space, quote, = or control character; objects as JSON', () => {
  const line = textOf((l) =>
    l.info(
      {
        plain: 'guest',
        spaced: 'orders app',
        eq: 'a=b',
        quote: 'say "hi"',
        newline: 'a\nb',
        empty: '',
        n: 1.5,
        ok: true,
        none: null,
        obj: { a: [1, 'x y'] },
      },
      'm',
    ),
  );
  assert.equal(
    line,
    '2026-12-02T14:03:11.512Z INFO  m plain=guest spaced="orders app" eq="a=b" quote="say \\"hi\\"" ' +
      'newline="a\\nb" empty="" n=1.5 ok=true none=null obj={"a":[1,"x y"]}\n',
  );
  assert.equal(line.split('\n').length, 2, 'one line');
});

void test('text errors: message and extra fields on the line, the stack indented below', () => {
  const err = Object.assign(new Error('fsync failed'), { code: 'EIO' });
  const out = textOf((l) => l.error({ err }, 'journal failed'));
  const [first, ...rest] = out.trimEnd().split('\n');
  assert.equal(first, '2026-12-02T14:03:11.512Z ERROR journal failed err.code=EIO');
  assert.equal(rest[0], '    Error: fsync failed');
  assert.ok(rest.length > 1 && rest.slice(1).every((r) => r.startsWith('        at ')), out);
});

void test('a line that is not JSON passes through unchanged', () => {
  assert.equal(formatText('not json\n'), 'not json\n');
  assert.equal(formatText('not json'), 'not json\n');
});
