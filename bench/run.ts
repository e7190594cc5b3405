/**
 * `npm run bench`: the journal alone in-process, then every AMQP scenario against Baton and,
 * when one is reachable, a peer broker (RabbitMQ) in alternation (A B A B …). Prints a table of
 * medians with Baton/peer ratios and writes one JSON line per run to bench/results/.
 *
 * Flags: --rounds N (default 3), --only a,b,… (scenario ids), --long (10M-message backlog and
 * a bigger recovery), --no-journal (skip the in-process journal bench), --scale F (multiply
 * every scenario's message count by F, e.g. 0.1 for a quick check; not for figures).
 * Environment: PEER_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672 if it answers),
 * PEER_PID (else found with pgrep beam.smp); for the auth scenario PEER_MANAGEMENT_URL and
 * PEER_ADMIN (user:pass), else PEER_RABBITMQCTL (see bench/auth.ts); for the tls scenario
 * PEER_AMQPS_URL (default amqps://guest:guest@127.0.0.1:5671) and BENCH_TLS_DIR (see
 * bench/tls-cert.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServe } from './serve.js';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { LoadResult, LoadSpec } from './load.js';
import { cpuSeconds, findRabbitPid, rssSampler } from './proc.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { measureRecovery } from './recovery.js';
import { runSplit } from './split-run.js';
import { runRpc } from './rpc-run.js';
import { waitReady } from '../src/cli/ready.js';
import { authUrl, BENCH_QUEUE_PREFIX, seedBaton, setUpPeer } from './auth.js';
import { benchCert, PEER_TLS_DIR, type BenchCert } from './tls-cert.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 3);
const only = flag('--only')?.split(',');
const long = args.includes('--long');
const scale = Number(flag('--scale') ?? 1);
if (!(scale > 0)) throw new Error(`--scale ${flag('--scale')}: not a positive number`);
/** A message count scaled by --scale, at least 1. */
const scaled = (n: number): number => Math.max(1, Math.round(n * scale));
const here = fileURLToPath(new URL('.', import.meta.url));
const cli = join(here, '..', 'src', 'cli', 'main.js');
const resultsDir = join(here, '..', '..', 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
/** The peer's management API user (creates and removes the auth scenario's user). */
const PEER_ADMIN = process.env.PEER_ADMIN ?? 'guest:guest';
const resultsFile = join(resultsDir, `${new Date().toISOString().slice(0, 10)}.jsonl`);

interface Target {
  name: 'baton' | 'peer';
  url: string;
  pid: number;
  /** Prometheus and management API base URLs, when the broker has them (metrics scenario). */
  metricsUrl?: string;
  managementUrl?: string;
  /** Its AMQPS URL, when it has a TLS listener serving the bench certificate (tls scenario). */
  amqpsUrl?: string;
}

interface Run {
  scenario: string;
  target: string;
  round: number;
  result: LoadResult;
  brokerCpuSeconds: number;
  brokerPeakRss: number;
  brokerCpuUsPerMessage: number;
  wallSeconds: number;
}

async function startBaton(
  dataDir: string,
  cert: BenchCert | undefined,
): Promise<{ child: ChildProcess; port: number; ports: Record<string, number> }> {
  const tls =
    cert === undefined
      ? []
      : [
          '--tls-cert',
          cert.cert,
          '--tls-key',
          cert.key,
          '--amqps-port',
          '0',
          '--https-port',
          'off',
        ];
  const child = spawnServe(cli, dataDir, ['--log-level', 'info', ...tls]);
  // The logs are not read, only drained (a full pipe would stall the broker).
  child.stdout!.resume();
  const ready = await waitReady(child, 3);
  const port = ready?.ports.amqp;
  if (port === undefined)
    throw new Error(`baton exited with ${child.exitCode} before it was ready`);
  return { child, port, ports: ready!.ports };
}

async function answers(url: string, auth?: string): Promise<boolean> {
  try {
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

async function reachable(url: string): Promise<boolean> {
  try {
    const c = await amqp.connect(url);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `url` answers AMQPS with the bench certificate; else why not, for the skip message.
 */
async function tlsAnswers(url: string, ca: string): Promise<true | string> {
  try {
    const c = await amqp.connect(url, { ca: [readFileSync(ca)] });
    await c.close();
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'ECONNREFUSED') return 'nothing listens there';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code))
      return `it serves another certificate than ${ca} (${code})`;
    return String(err);
  }
}

function runLoadProcess(spec: LoadSpec, script = 'load.js'): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator ${script} exited with ${code}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

function load(s: Scenario, spec: LoadSpec, brokerPid: number): Promise<LoadResult> {
  const { url, queue, size, prefetch } = spec;
  if (s.rpc) {
    const { callers, warmup, noDelay, responders } = s.rpc;
    return runRpc(
      {
        url,
        queue,
        callers,
        roundTrips: spec.messages,
        warmup: scaled(warmup),
        size,
        prefetch,
        noDelay,
      },
      responders,
    );
  }
  if (s.split) {
    const { producers, messages, window } = spec;
    return runSplit(
      { url, queue, producers, messages, size, prefetch, window },
      s.split.consumers,
      s.split.queues,
      brokerPid,
    );
  }
  return runLoadProcess(spec, s.script);
}

async function runScenario(
  s: Scenario,
  target: Target,
  round: number,
  cert: BenchCert | undefined,
): Promise<Run> {
  const spec: LoadSpec = {
    ...s.spec,
    messages: scaled(s.spec.messages),
    ...(s.spec.warmup !== undefined && { warmup: scaled(s.spec.warmup) }),
    url:
      s.spec.tls !== undefined
        ? target.amqpsUrl!
        : s.auth === true
          ? authUrl(target.url)
          : target.url,
    // The bench user may only use queues named bench.*.
    queue: `${s.auth === true ? BENCH_QUEUE_PREFIX : 'bench-'}${s.id}-${target.name}-${round}-${Date.now()}`,
  };
  if (s.script === 'blast-load.js') spec.brokerPid = target.pid;
  if (s.spec.tls !== undefined) spec.tls = { ...s.spec.tls, ca: cert!.cert, brokerPid: target.pid };
  const every = s.spec.scrapeEveryMs;
  if (every !== undefined) {
    // Prometheus every interval; a dashboard's overview and queue list every 5 s.
    spec.scrape = [{ url: `${target.metricsUrl}/metrics`, everyMs: every }];
    for (const path of ['/api/overview', '/api/queues'])
      spec.scrape.push({
        url: `${target.managementUrl}${path}`,
        everyMs: 5000,
        auth: 'guest:guest',
      });
  }
  const cpu0 = cpuSeconds(target.pid);
  const wall0 = performance.now();
  const rss = rssSampler(target.pid);
  const result = await load(s, spec, target.pid);
  const brokerCpuSeconds = cpuSeconds(target.pid) - cpu0;
  // Request/reply's broker CPU covers the warm-up round trips too.
  const messages = result.published + (s.rpc ? scaled(s.rpc.warmup) : 0);
  const run: Run = {
    scenario: s.id,
    target: target.name,
    round,
    result,
    brokerCpuSeconds,
    brokerPeakRss: rss.stop(),
    brokerCpuUsPerMessage: (brokerCpuSeconds * 1e6) / messages,
    wallSeconds: (performance.now() - wall0) / 1000,
  };
  // Delayed delivery reorders by due time on purpose.
  const ordered =
    result.inversions === 0 ||
    (s.ordered !== true &&
      (s.spec.consumers > 1 || s.split !== undefined || s.spec.delayMs !== undefined));
  if (
    result.missing !== 0 ||
    result.duplicates !== 0 ||
    result.delivered !== result.published ||
    !ordered
  )
    throw new Error(
      `${s.id} on ${target.name} lost or duplicated messages: ${JSON.stringify(result)}`,
    );
  appendFileSync(
    resultsFile,
    JSON.stringify({ date: new Date().toISOString(), ...(scale !== 1 && { scale }), ...run }) +
      '\n',
  );
  return run;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** A load's scenario-specific figures, as `, key value` pairs. */
function extras(r: LoadResult): string {
  return Object.entries(r.extra ?? {})
    .map(([k, v]) => `, ${k} ${typeof v === 'number' ? fmt(v, Math.abs(v) < 100 ? 2 : 0) : v}`)
    .join('');
}

function printTable(runs: Run[], peer: boolean): void {
  const lines: string[] = [];
  lines.push(`| scenario | figure | Baton | ${peer ? 'peer | Baton/peer |' : ''}`);
  lines.push(`|---|---|---|${peer ? '---|---|' : ''}`);
  for (const s of SCENARIOS) {
    const mine = runs.filter((r) => r.scenario === s.id && r.target === 'baton');
    if (mine.length === 0) continue;
    const theirs = runs.filter((r) => r.scenario === s.id && r.target === 'peer');
    for (const f of s.figures) {
      const a = median(mine.map(f.get));
      const b = median(theirs.map(f.get));
      const ratio = f.higherIsBetter ? a / b : b / a;
      lines.push(
        `| ${s.id} ${s.title} | ${f.name} | ${fmt(a, f.digits ?? 0)} | ${peer ? `${fmt(b, f.digits ?? 0)} | ${fmt(ratio, 2)}x |` : ''}`,
      );
    }
  }
  process.stdout.write(
    `\n${lines.join('\n')}\n\n(ratio > 1 means Baton is better; latency and memory ratios are peer/Baton)\n`,
  );
}

async function main(): Promise<void> {
  if (!args.includes('--no-journal')) {
    const { runJournalBench } = await import('./journal.js');
    await runJournalBench();
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const selected = SCENARIOS.filter((s) => (!only || only.includes(s.id)) && (!s.longOnly || long));
  const auth = selected.some((s) => s.auth === true);
  if (auth) await seedBaton(dataDir);
  // Only the tls scenario needs the certificate (and openssl, when it has to be made).
  const cert = selected.some((s) => s.spec.tls !== undefined)
    ? benchCert(join(here, '..', '..', 'bench', '.tls'))
    : undefined;
  if (cert !== undefined)
    process.stdout.write(
      `tls: certificate ${cert.cert}${cert.created ? ' (made now: the peer does not have it yet)' : ''}\n`,
    );
  const baton = await startBaton(dataDir, cert);
  // An interrupted run must not leave a broker or gigabytes of journal behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      baton.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const targets: Target[] = [
    {
      name: 'baton',
      url: `amqp://guest:guest@127.0.0.1:${baton.port}`,
      pid: baton.child.pid!,
      metricsUrl: `http://127.0.0.1:${baton.ports.prometheus}`,
      managementUrl: `http://127.0.0.1:${baton.ports.http}`,
      ...(baton.ports.amqps !== undefined && {
        amqpsUrl: `amqps://guest:guest@127.0.0.1:${baton.ports.amqps}`,
      }),
    },
  ];
  const peerUrl = process.env.PEER_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const peerPid = findRabbitPid();
  if (await reachable(peerUrl)) {
    const peer: Target = { name: 'peer', url: peerUrl, pid: peerPid ?? 0 };
    const metricsUrl = process.env.PEER_METRICS_URL ?? 'http://127.0.0.1:15692';
    const managementUrl = process.env.PEER_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
    if (
      (await answers(`${metricsUrl}/metrics`)) &&
      (await answers(`${managementUrl}/api/overview`, 'guest:guest'))
    ) {
      peer.metricsUrl = metricsUrl;
      peer.managementUrl = managementUrl;
    }
    if (cert !== undefined) {
      const amqpsUrl = process.env.PEER_AMQPS_URL ?? 'amqps://guest:guest@127.0.0.1:5671';
      const answer = await tlsAnswers(amqpsUrl, cert.cert);
      if (answer === true) peer.amqpsUrl = amqpsUrl;
      else
        process.stdout.write(
          `peer: no AMQPS at ${amqpsUrl}: ${answer}; the tls scenario runs on Baton only. ` +
            `Give the peer a TLS listener with this certificate (bench/README.md, "TLS on the peer": ` +
            `${cert.dir === PEER_TLS_DIR ? '' : `copy ${cert.dir}/cert.pem and key.pem to ${PEER_TLS_DIR}/, `}` +
            `listeners.ssl.default = 127.0.0.1:5671 and ssl_options.* in /etc/rabbitmq/rabbitmq.conf, restart it)\n`,
        );
    }
    targets.push(peer);
    process.stdout.write(`peer: ${peerUrl} (pid ${peerPid ?? 'unknown: no CPU/RSS figures'})\n`);
    if (peer.metricsUrl === undefined)
      process.stdout.write(
        'peer: no Prometheus/management answer (rabbitmq-plugins enable rabbitmq_prometheus rabbitmq_management); the metrics scenario runs on Baton only\n',
      );
  } else {
    process.stdout.write(
      'peer: none reachable (set PEER_AMQP_URL or start RabbitMQ on 127.0.0.1:5672)\n',
    );
  }
  let peerCleanup: (() => Promise<void>) | undefined;
  const runs: Run[] = [];
  try {
    const peer = targets.find((t) => t.name === 'peer');
    if (auth && peer !== undefined) {
      const managementUrl = process.env.PEER_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
      const api = (await answers(`${managementUrl}/api/overview`, PEER_ADMIN))
        ? managementUrl
        : undefined;
      peerCleanup = await setUpPeer(api, PEER_ADMIN);
      process.stdout.write(
        `peer: bench user and vhost created through ${api ?? 'rabbitmqctl'} (removed after the run)\n`,
      );
    }
    for (const s of selected) {
      for (let round = 1; round <= rounds; round++) {
        if (s.batonOnly && round === 1)
          process.stdout.write(
            `${s.id}: Baton only${s.id === 'delay' ? " (the peer's Debian rabbitmq-server has no rabbitmq_delayed_message_exchange plugin)" : ''}\n`,
          );
        const eligible = targets.filter(
          (t) =>
            (s.spec.scrapeEveryMs === undefined || t.metricsUrl !== undefined) &&
            (s.spec.tls === undefined || t.amqpsUrl !== undefined),
        );
        for (const target of s.batonOnly ? targets.slice(0, 1) : eligible) {
          const run = await runScenario(s, target, round, cert);
          runs.push(run);
          const r = run.result;
          if (s.rpc) {
            process.stdout.write(
              `${s.id} ${target.name} #${round}: ${fmt(r.endToEndRate)} round trips/s, p50 ${fmt(r.latencyMs.p50, 2)} ms, p99 ${fmt(r.latencyMs.p99, 2)} ms, p99.9 ${fmt(r.latencyMs.p999, 2)} ms, broker CPU ${fmt(run.brokerCpuSeconds, 1)} s (${fmt(run.brokerCpuUsPerMessage, 1)} µs/round trip), client CPU ${fmt(r.clientCpuSeconds, 1)} s\n`,
            );
            continue;
          }
          process.stdout.write(
            `${s.id} ${target.name} #${round}: publish ${fmt(r.publishRate)}/s, end-to-end ${fmt(r.endToEndRate)}/s, drain ${fmt(r.drainRate)}/s, p50 ${fmt(r.latencyMs.p50, 2)} ms, p99 ${fmt(r.latencyMs.p99, 2)} ms, p99.9 ${fmt(r.latencyMs.p999, 2)} ms, broker CPU ${fmt(run.brokerCpuSeconds, 1)} s (${fmt(run.brokerCpuUsPerMessage, 1)} µs/msg, ${fmt(run.brokerCpuSeconds / run.wallSeconds, 2)} of a core), client CPU ${fmt(r.clientCpuSeconds, 1)} s, broker peak RSS ${fmt(run.brokerPeakRss / 2 ** 20)} MiB${extras(r)}\n`,
          );
        }
      }
    }
  } finally {
    await peerCleanup?.();
    baton.child.kill('SIGTERM');
    await new Promise((r) => baton.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  printTable(runs, targets.length > 1);
  if (!only || only.includes('g')) {
    const rec = await measureRecovery(long ? 10_000_000 : 1_000_000, cli);
    process.stdout.write(JSON.stringify({ scenario: 'g recovery', ...rec }) + '\n');
    appendFileSync(
      resultsFile,
      JSON.stringify({ date: new Date().toISOString(), scenario: 'g', ...rec }) + '\n',
    );
  }
  process.stdout.write(`results appended to ${resultsFile}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
