import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { baton, batonOk, brokerWithHttp } from '../helpers/baton-cli.js';
import { tempDir } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

interface Defs {
  queues: { name: string; vhost: string; durable: boolean; arguments: Record<string, unknown> }[];
  exchanges: { name: string; type: string }[];
  bindings: { source: string; destination: string; routing_key: string }[];
}

void test('baton definitions export then import: queues, exchanges and bindings come back (RabbitMQ format)', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange('billing', 'direct', { durable: true });
  await ch.assertQueue('invoices', { durable: true, arguments: { 'x-max-length': 100 } });
  await ch.bindQueue('invoices', 'billing', 'invoice.created');

  const dir = tempDir(t);
  const file = join(dir, 'defs.json');
  const said = await batonOk(b.env, ['definitions', 'export', file]);
  assert.match(said, new RegExp(`^exported .*1 queue.* to ${file}\\n$`));
  const defs = JSON.parse(readFileSync(file, 'utf8')) as Defs;
  const q = defs.queues.find((x) => x.name === 'invoices');
  assert.ok(q !== undefined);
  assert.equal(q.durable, true);
  assert.equal(q.arguments['x-max-length'], 100);
  assert.ok(defs.exchanges.some((e) => e.name === 'billing' && e.type === 'direct'));
  assert.ok(
    defs.bindings.some((x) => x.destination === 'invoices' && x.routing_key === 'invoice.created'),
  );
  // To stdout: the same JSON.
  const stdout = JSON.parse(await batonOk(b.env, ['definitions', 'export'])) as Defs;
  assert.deepEqual(stdout.queues, defs.queues);

  await ch.deleteQueue('invoices');
  await ch.deleteExchange('billing');
  const imported = await batonOk(b.env, ['definitions', 'import', file]);
  assert.match(imported, /^imported .*queue.* from /);
  const back = await ch.checkQueue('invoices');
  assert.equal(back.queue, 'invoices');
  await ch.checkExchange('billing');
  // The binding is back: a publish to billing reaches invoices.
  ch.publish('billing', 'invoice.created', Buffer.from('i1'));
  const m = await ch.get('invoices');
  assert.ok(m !== false, 'routed through the re-imported binding');

  // From stdin, and refused files.
  writeFileSync(
    join(dir, 'more.json'),
    JSON.stringify({
      queues: [{ name: 'extra', vhost: '/', durable: true, auto_delete: false, arguments: {} }],
    }),
  );
  await batonOk(b.env, ['definitions', 'import', '-'], readFileSync(join(dir, 'more.json')));
  await ch.checkQueue('extra');
  writeFileSync(join(dir, 'bad.json'), '{"queues": [');
  const bad = await baton(['definitions', 'import', join(dir, 'bad.json')], { env: b.env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^baton: .*bad\.json: not JSON/);
  const none = await baton(['definitions', 'import', join(dir, 'absent.json')], { env: b.env });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /ENOENT/);
});

void test('baton status: version, listeners, object and message totals, rates, alarms; --json', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('s1');
  await ch.assertQueue('s2');
  ch.sendToQueue('s1', Buffer.from('a'));
  ch.sendToQueue('s1', Buffer.from('b'));
  await ch.waitForConfirms();

  const out = await batonOk(b.env, ['status']);
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string;
  };
  assert.match(out.split('\n')[0]!, new RegExp(`^\\S+ ${pkg.version.replace(/\./g, '\\.')}`));
  assert.match(out, /^ {2}listeners\s+.*amqp/m);
  assert.match(
    out,
    /^ {2}objects\s+1 connection, 1 channel, 2 queues, \d+ exchanges, 0 consumers$/m,
  );
  assert.match(out, /^ {2}messages\s+2 messages \(2 ready, 0 unacked\)$/m);
  assert.match(out, /^ {2}alarms\s+none$/m);

  const json = JSON.parse(await batonOk(b.env, ['status', '--json'])) as {
    overview: { object_totals: { queues: number }; queue_totals: { messages: number } };
    alarms: string[];
  };
  assert.equal(json.overview.object_totals.queues, 2);
  assert.equal(json.overview.queue_totals.messages, 2);
  assert.deepEqual(json.alarms, []);
});
