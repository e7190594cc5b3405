// Long variant (npm run reliability), R5: recovery time, i.e. milliseconds from spawning
// `baton serve` to its AMQP listener being announced, on a data dir holding N live messages
// (~200 B bodies, 64 MiB segments), after SIGKILL and after a clean SIGTERM; plus the broker's
// peak RSS (VmHWM) while taking and while recovering the backlog. One JSON line per size.
//
// Env: BATON_RECOVERY_SIZES (default "100000,1000000"), BATON_RECOVERY_RESTARTS (default 5).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../helpers/core.js';
import { launch, type BrokerProcess } from '../broker.js';
import { startProducer, waitFor } from '../harness.js';
import { History } from '../history.js';

const sizes = (process.env.BATON_RECOVERY_SIZES ?? '100000,1000000').split(',').map(Number);
const restarts = Number(process.env.BATON_RECOVERY_RESTARTS ?? 5);

function hwmKiB(b: BrokerProcess): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${b.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

for (const n of sizes) {
  void test(`R5 recovery time with ${n} live messages`, async (t) => {
    const dir = tempDir(t, 'baton-rtime-');
    const history = new History();
    const b = await launch(t, dir);
    const producers = ['p1', 'p2'].map((name) =>
      startProducer(
        t,
        { url: b.url, queue: 'rtime-q', name, firstSeq: 1, bodySize: 200, window: 1000, batch: 50 },
        history,
      ),
    );
    const t0 = Date.now();
    const total = () => producers.reduce((a, p) => a + p.confirmed, 0);
    assert.ok(await waitFor(() => total() >= n, 30 * 60000, 200), 'load confirmed');
    for (const p of producers) p.stop();
    await Promise.all(producers.map((p) => p.done));
    const loadMs = Date.now() - t0;
    const loadHwm = hwmKiB(b);
    await b.kill('SIGKILL');
    const bytes = readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    const unclean: number[] = [];
    const clean: number[] = [];
    let recoverHwm = 0;
    for (let i = 0; i < restarts; i++) {
      const r = await launch(t, dir, { timeoutMs: 600000 });
      unclean.push(r.startupMs);
      recoverHwm = Math.max(recoverHwm, hwmKiB(r));
      await r.kill('SIGKILL');
    }
    for (let i = 0; i < restarts; i++) {
      const r = await launch(t, dir, { timeoutMs: 600000 });
      await r.kill('SIGTERM');
      const c = await launch(t, dir, { timeoutMs: 600000 });
      clean.push(c.startupMs);
      await c.kill('SIGTERM');
    }
    console.log(
      JSON.stringify({
        run: `R5 recovery ${n}`,
        messages: total(),
        journalBytes: bytes,
        loadMs,
        afterKillMs: { p50: pct(unclean, 50), p95: pct(unclean, 95), all: unclean },
        afterCleanStopMs: { p50: pct(clean, 50), p95: pct(clean, 95), all: clean },
        peakRssMiB: { load: Math.round(loadHwm / 1024), recovery: Math.round(recoverHwm / 1024) },
      }),
    );
  });
}
