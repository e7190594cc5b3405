// Screenshots of the dashboard for docs/operations.md: starts a broker with some live traffic
// (publishers, a consumer, a dead-letter queue), drives Debian's chromium through the pages at
// desktop and phone sizes, and writes PNGs to docs/images/.
//   npx tsc -p tsconfig.json && node dist/scripts/screenshots.js [--seconds 75] [--out docs/images]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { chromium, type Page } from 'playwright-core';
import { pino } from 'pino';
import { defaultConfig } from '../src/config.js';
import { Server } from '../src/server.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const seconds = Number(arg('--seconds', '75'));
const out = resolve(arg('--out', 'docs/images'));
const executablePath = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';

const dataDir = mkdtempSync(join(tmpdir(), 'baton-shots-'));
const server = await Server.start(
  {
    ...defaultConfig(),
    host: '127.0.0.1',
    amqpPort: 0,
    httpPort: 0,
    prometheusPort: 'off',
    dataDir,
    logLevel: 'silent',
  },
  pino({ level: 'silent' }),
);
const url = `amqp://guest:guest@127.0.0.1:${server.ports.get('amqp')}`;
const base = `http://127.0.0.1:${server.ports.get('http')}/`;

// Tracing on for '/', so the trace page has a message's life to show.
const auth = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') };
const traced = await fetch(`${base}api/vhosts/%2F`, {
  method: 'PUT',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ tracing: true }),
});
if (!traced.ok) console.warn(`tracing not switched on: ${traced.status} ${await traced.text()}`);

// Traffic: two publishers, a consumer that acks orders and rejects every 20th payment.
const pub = await amqp.connect(url, { clientProperties: { connection_name: 'order-service' } });
const worker = await amqp.connect(url, { clientProperties: { connection_name: 'billing-worker' } });
const pc = await pub.createConfirmChannel();
const wc = await worker.createChannel();
await pc.assertQueue('orders', { durable: true });
await pc.assertQueue('emails', { durable: true, arguments: { 'x-max-length': 10000 } });
await pc.assertQueue('payments.dlq', { durable: true });
await pc.assertQueue('payments', {
  durable: true,
  arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'payments.dlq' },
});
await wc.prefetch(20);
await wc.consume('orders', (m) => m && setTimeout(() => wc.ack(m), 30));
let n = 0;
await wc.consume('payments', (m) => {
  if (!m) return;
  if (++n % 20 === 0) wc.reject(m, false);
  else wc.ack(m);
});
let stop = false;
let i = 0;
const t0 = Date.now();
const publish = async (): Promise<void> => {
  while (!stop) {
    // A slow swell (period ~2 minutes), so the charts show a shape rather than noise.
    const wave = 10 + Math.round(8 * Math.sin((Date.now() - t0) / 20_000));
    for (let k = 0; k < wave; k++) {
      i++;
      const id = `ord-${i}`;
      const body = Buffer.from(
        JSON.stringify({ order: id, amount: (i % 97) + 0.5, currency: 'EUR' }),
      );
      const props = {
        messageId: id,
        contentType: 'application/json',
        persistent: true,
        headers: { tenant: 'acme' },
      };
      pc.sendToQueue('orders', body, props);
      pc.sendToQueue('payments', body, { ...props, messageId: `pay-${i}` });
      if (i % 3 === 0)
        pc.sendToQueue('emails', Buffer.from(`mail for ${id}`), { messageId: `mail-${i}` });
    }
    await pc.waitForConfirms();
    await sleep(500);
  }
};
const publishing = publish();

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });

async function open(width: number, height: number): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: 'light' });
  const page = await ctx.newPage();
  await page.goto(base);
  await page.fill('input[name=username]', 'guest');
  await page.fill('input[name=password]', 'guest');
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('[data-tiles] .tile');
  return page;
}

async function shoot(page: Page, name: string, full = true): Promise<void> {
  const file = join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: full });
  console.log(`wrote ${file}`);
}

async function pages(page: Page, kind: string): Promise<void> {
  await page.goto(`${base}#/queues`);
  await page.waitForSelector('a.qname');
  await sleep(5500); // one more poll, so the rates are filled
  await shoot(page, `dashboard-queues-${kind}`);
  await page.goto(`${base}#/queues/%2F/payments.dlq`);
  await page.click('[data-action=peek]');
  await page.waitForSelector('[data-xdeath]');
  await shoot(page, `dashboard-queue-dlq-${kind}`);
  await page.goto(`${base}#/connections`);
  await page.waitForSelector('[data-action=close]');
  await shoot(page, `dashboard-connections-${kind}`);
  await page.goto(`${base}#/trace/%2F/pay-20`);
  await page.waitForSelector(
    '[data-timeline] .timeline, [data-timeline] .notice, [data-timeline] .error',
  );
  await page.waitForSelector('[data-recent] h3');
  await shoot(page, `dashboard-trace-${kind}`);
}

const started = Date.now();
const desktop = await open(1440, 900);
const phone = await open(390, 844);
await pages(desktop, 'desktop');
await pages(phone, 'phone');
await sleep(Math.max(0, seconds * 1000 - (Date.now() - started)));
for (const [page, kind] of [
  [desktop, 'desktop'],
  [phone, 'phone'],
] as const) {
  await page.goto(`${base}#/`);
  await page.waitForSelector('figure[data-chart] path.line');
  await shoot(page, `dashboard-overview-${kind}`);
}
// The same overview in the dark scheme, for the docs.
await desktop.emulateMedia({ colorScheme: 'dark' });
await shoot(desktop, 'dashboard-overview-dark', false);

stop = true;
await publishing;
await browser.close();
await pub.close();
await worker.close();
await server.stop();
rmSync(dataDir, { recursive: true, force: true });
