import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { baton, batonOk, brokerWithHttp } from '../helpers/baton-cli.js';
import { tempDir, until } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

void test('baton publish: --body, --file, stdin; properties, headers, --persistent reach an AMQP consumer', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue('inbox', { durable: true });

  const out = await batonOk(b.env, [
    'publish',
    '--routing-key',
    'inbox',
    '--body',
    'hello',
    '--property',
    'content_type=text/plain',
    '--property',
    'message_id=m-1',
    '--property',
    'priority=3',
    '--header',
    'tenant=acme',
    '--header',
    'attempt:=2',
    '--persistent',
  ]);
  assert.equal(out, 'published 5 bytes, routed\n');
  let m = await ch.get('inbox', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'hello');
  assert.equal(m.properties.contentType, 'text/plain');
  assert.equal(m.properties.messageId, 'm-1');
  assert.equal(m.properties.priority, 3);
  assert.equal(m.properties.deliveryMode, 2);
  assert.equal(m.properties.headers?.tenant, 'acme');
  assert.equal(m.properties.headers?.attempt, 2);
  assert.equal(m.fields.routingKey, 'inbox');

  // A binary file keeps its bytes (sent base64-encoded).
  const dir = tempDir(t);
  const bin = Buffer.from([0, 255, 254, 10, 13, 128]);
  writeFileSync(join(dir, 'blob'), bin);
  await batonOk(b.env, ['publish', '--routing-key', 'inbox', '--file', join(dir, 'blob')]);
  m = await ch.get('inbox', { noAck: true });
  assert.ok(m !== false);
  assert.deepEqual(m.content, bin);

  // stdin, through a named exchange; --json gives the API's reply.
  await ch.assertExchange('fan', 'fanout');
  await ch.bindQueue('inbox', 'fan', '');
  const json = await batonOk(b.env, ['publish', '--exchange', 'fan', '--json'], 'from stdin\n');
  assert.deepEqual(JSON.parse(json), { routed: true });
  m = await ch.get('inbox', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'from stdin\n');
  assert.equal(m.fields.exchange, 'fan');

  // Nowhere to go: said plainly.
  const lost = await batonOk(b.env, ['publish', '--routing-key', 'nobody', '--body', 'x']);
  assert.match(lost, /NOT routed/);

  // Refused before anything is sent.
  const badProp = await baton(['publish', '--property', 'colour=red', '--body', 'x'], {
    env: b.env,
  });
  assert.equal(badProp.code, 2);
  assert.match(badProp.stderr, /unknown property 'colour'/);
  const both = await baton(['publish', '--body', 'x', '--file', 'y'], { env: b.env });
  assert.equal(both.code, 2);
  const noX = await baton(['publish', '--exchange', 'nope', '--body', 'x'], { env: b.env });
  assert.equal(noX.code, 1);
  assert.match(noX.stderr, /^baton: .*nope/);
});

void test('baton get: properties, headers and body; requeued by default, gone with --ack; binary as base64; --json', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('jobs');
  ch.sendToQueue('jobs', Buffer.from('first job'), {
    messageId: 'j1',
    contentType: 'text/plain',
    headers: { source: 'cron' },
  });
  ch.sendToQueue('jobs', Buffer.from([0xff, 0x00, 0xfe]));
  await ch.waitForConfirms();

  const peek = await batonOk(b.env, ['get', 'jobs']);
  assert.match(peek, /^message 1 of 1: exchange '', routing key 'jobs'; 1 left in the queue$/m);
  assert.match(peek, /^ {2}properties:$/m);
  assert.match(peek, /^ {4}message_id\s+j1$/m);
  assert.match(peek, /^ {4}content_type\s+text\/plain$/m);
  assert.match(peek, /^ {2}headers:\n {4}source\s+cron$/m);
  assert.match(peek, /^ {2}body \(9 bytes\):\n {4}first job$/m);
  assert.equal((await ch.checkQueue('jobs')).messageCount, 2);

  const json = JSON.parse(await batonOk(b.env, ['get', 'jobs', '--count', '5', '--json'])) as {
    payload: string;
    payload_encoding: string;
    redelivered: boolean;
  }[];
  assert.equal(json.length, 2);
  assert.equal(json[0]!.payload, 'first job');
  assert.equal(json[0]!.redelivered, true);
  assert.equal(json[1]!.payload_encoding, 'base64');
  assert.equal(Buffer.from(json[1]!.payload, 'base64').toString('hex'), 'ff00fe');

  const taken = await batonOk(b.env, ['get', 'jobs', '--count', '2', '--ack']);
  assert.match(taken, /^message 2 of 2: .*redelivered/m);
  assert.match(taken, /body \(3 bytes, not UTF-8: base64\):\n {4}/);
  await until(
    async () => (await ch.checkQueue('jobs')).messageCount === 0,
    'jobs empty after --ack',
  );
  assert.equal(await batonOk(b.env, ['get', 'jobs']), "queue 'jobs' is empty\n");

  const clash = await baton(['get', 'jobs', '--ack', '--requeue'], { env: b.env });
  assert.equal(clash.code, 2);
  const badCount = await baton(['get', 'jobs', '--count', '0'], { env: b.env });
  assert.equal(badCount.code, 2);
  assert.match(badCount.stderr, /--count: '0' is not a positive whole number/);
});

void test('baton queue declare|purge|delete: arguments typed, --if-empty refused by the broker, effects seen over AMQP', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  conn.on('error', () => {});
  assert.equal(
    await batonOk(b.env, ['queue', 'declare', 'capped', '--durable', '--arg', 'x-max-length=2']),
    "declared queue 'capped'\n",
  );
  const ch = await conn.createConfirmChannel();
  // The same declaration over AMQP is equivalent (a different x-max-length would be refused).
  await ch.assertQueue('capped', { durable: true, arguments: { 'x-max-length': 2 } });
  for (let i = 0; i < 5; i++) ch.sendToQueue('capped', Buffer.from(`${i}`));
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue('capped')).messageCount, 2);

  const notEmpty = await baton(['queue', 'delete', 'capped', '--if-empty'], { env: b.env });
  assert.equal(notEmpty.code, 1);
  assert.match(notEmpty.stderr, /^baton: \S/);
  assert.equal((await ch.checkQueue('capped')).messageCount, 2);

  assert.equal(
    await batonOk(b.env, ['queue', 'purge', 'capped']),
    "purged queue 'capped' (2 ready messages before)\n",
  );
  assert.equal((await ch.checkQueue('capped')).messageCount, 0);

  assert.equal(
    await batonOk(b.env, ['queue', 'delete', 'capped', '--if-empty', '--if-unused']),
    "deleted queue 'capped'\n",
  );
  const check = await conn.createChannel();
  check.on('error', () => {});
  await assert.rejects(check.checkQueue('capped'), /404/);

  const missing = await baton(['queue', 'purge', 'ghost'], { env: b.env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^baton: /);
  const usage = await baton(['queue', 'declare'], { env: b.env });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Usage: baton queue declare <queue>/);
});
