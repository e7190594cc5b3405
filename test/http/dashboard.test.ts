// The dashboard in a real browser: Debian's chromium driven by playwright-core against a broker
// with real amqplib traffic. Each step checks the broker's side with amqplib, not just the page.
// Without /usr/bin/chromium the test skips (fails under BATON_REQUIRE_ALL=1, as in CI).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, logIn, overflowsHorizontally } from '../helpers/browser.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const tileValue = (page: Page, label: string): Promise<string> =>
  page
    .locator('[data-tiles] .tile', { has: page.locator('.tile-label', { hasText: label }) })
    .locator('.tile-value')
    .innerText();

void test('dashboard: an operator logs in, watches, peeks, publishes, purges, redrives, closes, traces', async (t) => {
  const browser = await launchChromium(t);
  if (browser === undefined) return;
  const { server, url } = await startBroker(t, { httpPort: 0 });
  const base = `http://127.0.0.1:${server.ports.get('http')}/`;

  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('orders', { durable: true });
  await ch.assertQueue('work.dlq', { durable: true });
  await ch.assertQueue('work', {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'work.dlq' },
  });
  ch.sendToQueue('orders', Buffer.from('{"order":1}'), {
    messageId: 'm-1',
    contentType: 'application/json',
    headers: { 'x-tenant': 'acme' },
  });
  ch.sendToQueue('work', Buffer.from('job 7'), { messageId: 'job-7' });
  // Dead-letter job 7: a reject without requeue sends it to work.dlq with x-death.
  let job: Awaited<ReturnType<typeof ch.get>> = false;
  await eventually(async () => {
    job = await ch.get('work');
    assert.ok(job);
  });
  ch.nack(job as unknown as Parameters<typeof ch.nack>[0], false, false);
  await eventually(async () => assert.equal((await ch.checkQueue('work.dlq')).messageCount, 1));

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // A wrong password is refused with the server's reason, and no browser popup (no
  // WWW-Authenticate: playwright would otherwise wait on an auth dialog).
  await page.goto(base);
  await page.fill('input[name=username]', 'guest');
  await page.fill('input[name=password]', 'nope');
  await page.click('form.login button[type=submit]');
  await page.locator('form.login .error', { hasText: /Login failed: 401 .*refused/ }).waitFor();

  await logIn(page, base);
  // Overview: totals and a live chart.
  await eventually(async () => {
    assert.equal(await tileValue(page, 'Messages'), '2');
    assert.equal(await tileValue(page, 'Queues'), '3');
    assert.equal(await tileValue(page, 'Connections'), '1');
  });
  await page
    .locator('figure[data-chart="Message rates"] svg path.line')
    .first()
    .waitFor({ state: 'attached' });
  assert.equal(
    await page.locator('figure[data-chart="Message rates"] .legend li').count(),
    5,
    'publish, deliver/get, ack, redeliver, confirm',
  );
  await page
    .locator('figure[data-chart="Queued messages"] svg path.line')
    .first()
    .waitFor({ state: 'attached' });
  await page.locator('[data-journal-store]').waitFor();

  // An alarm puts a banner on every page until it clears.
  server.broker.alarms.set('memory', true);
  await page.locator('[data-alarms]:not([hidden])', { hasText: 'Memory alarm' }).waitFor();
  server.broker.alarms.set('memory', false);
  await page.locator('[data-alarms]').waitFor({ state: 'hidden' });
  server.broker.alarms.set('journal', true);
  await page.locator('[data-alarms]:not([hidden])', { hasText: 'Journal alarm' }).waitFor();
  assert.doesNotMatch(await page.locator('[data-alarms]').innerText(), /Disk alarm/);
  server.broker.alarms.set('journal', false);
  await page.locator('[data-alarms]').waitFor({ state: 'hidden' });

  // Queues list → the queue page.
  await page.click('nav a[data-nav=queues]');
  await page.locator('tr[data-key="//orders"]').waitFor();
  await page.fill('input.filter', '^ord');
  await eventually(async () => assert.equal(await page.locator('a.qname').count(), 1));
  await page.click('a.qname:text-is("orders")');
  await page.locator('h1[data-queue-name]', { hasText: 'orders' }).waitFor();
  assert.match(page.url(), /#\/queues\/%2F\/orders$/);

  // Peek: the message and its header, left on the queue.
  await page.click('[data-action=peek]');
  await page.locator('[data-message="0"] [data-headers]', { hasText: 'x-tenant' }).waitFor();
  assert.match(await page.locator('[data-message="0"] [data-headers]').innerText(), /acme/);
  assert.match(await page.locator('[data-message="0"] pre.body').innerText(), /"order": 1/);
  await page.click('[data-message="0"] [data-body-toggle]');
  assert.equal(
    await page.locator('[data-message="0"] pre.body').innerText(),
    Buffer.from('{"order":1}').toString('base64'),
  );
  assert.equal((await ch.checkQueue('orders')).messageCount, 1, 'peek requeues');

  // Publish from the form; amqplib finds it with its header.
  await page.fill('form.publish textarea[name=payload]', 'from the dashboard');
  await page.fill('form.publish input[name=message_id]', 'ui-1');
  await page.fill('form.publish textarea[name=headers]', 'source: dashboard');
  await page.click('[data-action=publish]');
  await page.locator('.toast', { hasText: 'Published to orders' }).waitFor();
  await eventually(async () => assert.equal((await ch.checkQueue('orders')).messageCount, 2));
  const first = await ch.get('orders');
  const second = await ch.get('orders');
  assert.ok(first && second);
  assert.equal(second.properties.messageId, 'ui-1');
  assert.equal(second.content.toString(), 'from the dashboard');
  assert.equal(second.properties.headers?.source, 'dashboard');
  assert.equal(second.properties.deliveryMode, 2);
  ch.nack(second, true, true); // both back

  // Purge, after the confirm dialog.
  await eventually(async () => assert.equal((await ch.checkQueue('orders')).messageCount, 2));
  await page.click('[data-action=purge]');
  await page.click('[data-confirm-ok]');
  await page.locator('.toast', { hasText: 'Purged orders' }).waitFor();
  assert.equal((await ch.checkQueue('orders')).messageCount, 0);

  // The dead-letter queue: x-death shown, one-click redrive back to 'work'.
  await page.goto(`${base}#/queues/%2F/work.dlq`);
  await page.locator('[data-dlq]:not([hidden])', { hasText: 'work' }).waitFor();
  await page.click('[data-action=peek]');
  const xdeath = page.locator('[data-message="0"] [data-xdeath]');
  await xdeath.waitFor();
  const deathText = await xdeath.innerText();
  assert.match(deathText, /\bwork\b/);
  assert.match(deathText, /rejected/);
  await page.click('[data-action=redrive]');
  await page.locator('[data-redrive-result]', { hasText: '1 moved' }).waitFor();
  await eventually(async () => assert.equal((await ch.checkQueue('work')).messageCount, 1));
  assert.equal((await ch.checkQueue('work.dlq')).messageCount, 0);
  const back = await ch.get('work', { noAck: true });
  assert.ok(back);
  assert.equal(back.content.toString(), 'job 7');

  // Close a connection: amqplib sees the server close it.
  const victim = await connect(t, url);
  await victim.createChannel();
  // amqplib names the connection by client property; the page shows it in the Client column.
  const closed = once(victim, 'close');
  await page.goto(`${base}#/connections`);
  const row = page
    .locator('tr', { hasText: '127.0.0.1' })
    .filter({ has: page.locator('[data-action=close]') });
  await eventually(async () => assert.equal(await row.count(), 2));
  // The victim is the newer connection: the one whose peer port is not the test's channel's.
  const victimPort = (victim.connection as unknown as { stream: { localPort: number } }).stream
    .localPort;
  await page
    .locator('tr', { hasText: `127.0.0.1:${victimPort}` })
    .locator('[data-action=close]')
    .click();
  await page.click('[data-confirm-ok]');
  await closed;
  await page.locator('.toast', { hasText: 'Closed' }).waitFor();
  await eventually(async () => assert.equal(await row.count(), 1));

  // Trace: while tracing is off the page says so with the server's reason; switch it on from
  // the page, then follow a message's life.
  await page.goto(`${base}#/trace/%2F/nothing-yet`);
  await page.locator('[data-timeline]', { hasText: /tracing is off for vhost/ }).waitFor();
  const sw = page.locator('input[data-tracing="/"]');
  await sw.waitFor();
  await sw.check();
  await page.locator('.toast', { hasText: 'Tracing on for vhost /' }).waitFor();
  ch.sendToQueue('orders', Buffer.from('traced'), { messageId: 'trace-me' });
  let traced: Awaited<ReturnType<typeof ch.get>> = false;
  await eventually(async () => {
    traced = await ch.get('orders');
    assert.ok(traced);
  });
  ch.ack(traced as unknown as Parameters<typeof ch.ack>[0]);
  await page.fill('input[name=message_id]', 'trace-me');
  await page.click('form.inline button[type=submit]');
  await page.locator('[data-timeline] [data-event=acked]').waitFor();
  await page.locator('[data-recent] a', { hasText: 'trace-me' }).waitFor();
  for (const e of ['published', 'routed', 'delivered'])
    assert.equal(await page.locator(`[data-timeline] [data-event=${e}]`).count(), 1, e);

  // A phone: every page fits its width (tables turn into cards).
  await page.setViewportSize({ width: 390, height: 844 });
  ch.sendToQueue('orders', Buffer.from('{"a":"' + 'x'.repeat(300) + '"}'), {
    headers: { 'x-long-header-name-for-a-phone': 'v'.repeat(120) },
  });
  for (const [hash, ready] of [
    ['#/', '[data-tiles] .tile'],
    ['#/queues', 'tr[data-key="//orders"]'],
    ['#/exchanges', 'table.list'],
    ['#/connections', '[data-action=close]'],
    ['#/trace/%2F/trace-me', '[data-event=acked]'],
    ['#/queues/%2F/orders', 'h1[data-queue-name]'],
  ] as const) {
    await page.goto(`${base}${hash}`);
    await page.locator(ready).first().waitFor();
    if (hash === '#/queues/%2F/orders') {
      await page.click('[data-action=peek]');
      await page.locator('[data-message="0"]').waitFor();
    }
    assert.equal(await overflowsHorizontally(page), false, `${hash} scrolls sideways on a phone`);
  }
  assert.deepEqual(pageErrors, [], 'no script errors in the page');
});
