import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from './core/errors.js';
import { DEFAULT_BODY_BUDGET } from './util/body-budget.js';

/** One validated configuration. Precedence: flags > BATON_* environment > config file > defaults. */
export interface Config {
  dataDir: string;
  store: 'journal' | 'memory';
  host: string;
  amqpPort: number;
  /** Management HTTP API and dashboard; 'off' for none. */
  httpPort: number | 'off';
  /** Prometheus /metrics; 'off' for none. */
  prometheusPort: number | 'off';
  logFormat: 'text' | 'json';
  segmentSize: number;
  bodyBudget: number;
  consumerTimeout: number;
  memoryHighWatermark: number;
  diskFreeLimit: number;
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  maxMessageSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  recoverSkipCorrupt: boolean;
  /** '' for the default (see controlSocketPath), 'off' for none, else a path. */
  controlSocket: string;
  /** PEM files; '' for none. TLS listeners start only with a cert and a key (src/tls.ts). */
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  tlsVerify: 'none' | 'peer';
  tlsFailIfNoPeerCert: boolean;
  /** AMQP over TLS; listens only when tlsCert and tlsKey are set. */
  amqpsPort: number | 'off';
  /** The management API over TLS; listens only when tlsCert and tlsKey are set. */
  httpsPort: number | 'off';
  /** The user the first boot creates instead of guest/guest ('' for guest); with defaultPass. */
  defaultUser: string;
  /** Its password ('' unset). A secret: never printed by usage() or in errors. */
  defaultPass: string;
  /** A RabbitMQ definitions file imported at every boot (load_definitions); '' for none. */
  definitions: string;
}

type Kind = 'string' | 'port' | 'port-or-off' | 'int' | 'number' | 'enum' | 'bool';
interface Option {
  key: keyof Config;
  flag: string;
  env: string;
  kind: Kind;
  default: string | number | boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
  help: string;
  /** Never shown: usage() prints no default, errors never quote the value. */
  secret?: boolean;
}

/** The table the README documents; keep them in step. */
export const OPTIONS: readonly Option[] = [
  {
    key: 'dataDir',
    flag: '--data-dir',
    env: 'BATON_DATA_DIR',
    kind: 'string',
    default: './data',
    help: 'Directory for the journal',
  },
  {
    key: 'store',
    flag: '--store',
    env: 'BATON_STORE',
    kind: 'enum',
    values: ['journal', 'memory'],
    default: 'journal',
    help: 'journal (durable) or memory (nothing survives a restart)',
  },
  {
    key: 'host',
    flag: '--host',
    env: 'BATON_HOST',
    kind: 'string',
    default: '::',
    help: "Address the listeners bind to ('::' is every IPv4 and IPv6 address)",
  },
  {
    key: 'amqpPort',
    flag: '--amqp-port',
    env: 'BATON_AMQP_PORT',
    kind: 'port',
    default: 5672,
    help: 'AMQP 0-9-1 port (0 picks a free port)',
  },
  {
    key: 'httpPort',
    flag: '--http-port',
    env: 'BATON_HTTP_PORT',
    kind: 'port-or-off',
    default: 15672,
    help: "Management HTTP API and dashboard port (0 picks a free port, 'off' for none)",
  },
  {
    key: 'prometheusPort',
    flag: '--prometheus-port',
    env: 'BATON_PROMETHEUS_PORT',
    kind: 'port-or-off',
    default: 15692,
    help: "Prometheus /metrics port (0 picks a free port, 'off' for none)",
  },
  {
    key: 'segmentSize',
    flag: '--segment-size',
    env: 'BATON_SEGMENT_SIZE',
    kind: 'int',
    min: 4096,
    max: 2 ** 31,
    default: 64 * 1024 * 1024,
    help: 'Journal segment file size in bytes',
  },
  {
    key: 'bodyBudget',
    flag: '--body-budget',
    env: 'BATON_BODY_BUDGET',
    kind: 'int',
    min: 0,
    max: 2 ** 48,
    default: DEFAULT_BODY_BUDGET,
    help: 'Bytes of message bodies kept in memory before paging to the journal or spill files',
  },
  {
    key: 'consumerTimeout',
    flag: '--consumer-timeout',
    env: 'BATON_CONSUMER_TIMEOUT',
    kind: 'int',
    min: 0,
    max: 2 ** 31,
    default: 30 * 60 * 1000,
    help: 'Close a channel whose delivery stays unacked this many ms (RabbitMQ consumer_timeout); 0 disables',
  },
  {
    key: 'memoryHighWatermark',
    flag: '--memory-high-watermark',
    env: 'BATON_MEMORY_HIGH_WATERMARK',
    kind: 'number',
    min: 0,
    max: 2 ** 53,
    default: 0.4,
    help: 'Block publishers above this RSS: fraction of RAM (<= 1) or bytes (> 1); 0 disables',
  },
  {
    key: 'diskFreeLimit',
    flag: '--disk-free-limit',
    env: 'BATON_DISK_FREE_LIMIT',
    kind: 'int',
    min: 0,
    max: 2 ** 53,
    default: 50_000_000,
    help: 'Block publishers when fewer bytes are free on the data dir; 0 disables',
  },
  {
    key: 'heartbeat',
    flag: '--heartbeat',
    env: 'BATON_HEARTBEAT',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 60,
    help: 'AMQP heartbeat the server proposes, in seconds (0 disables)',
  },
  {
    key: 'frameMax',
    flag: '--frame-max',
    env: 'BATON_FRAME_MAX',
    kind: 'int',
    min: 4096,
    max: 2 ** 31 - 1,
    default: 131072,
    help: 'Largest AMQP frame in bytes',
  },
  {
    key: 'channelMax',
    flag: '--channel-max',
    env: 'BATON_CHANNEL_MAX',
    kind: 'int',
    min: 1,
    max: 65535,
    default: 2047,
    help: 'Most channels per AMQP connection',
  },
  {
    key: 'maxMessageSize',
    flag: '--max-message-size',
    env: 'BATON_MAX_MESSAGE_SIZE',
    kind: 'int',
    min: 1,
    max: 512 * 1024 * 1024,
    default: 128 * 1024 * 1024,
    help: 'Largest message body in bytes',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'BATON_LOG_LEVEL',
    kind: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    help: 'Log level',
  },
  {
    key: 'logFormat',
    flag: '--log-format',
    env: 'BATON_LOG_FORMAT',
    kind: 'enum',
    values: ['text', 'json'],
    default: 'text',
    help: 'text: one readable line per event; json: one JSON object per line',
  },
  {
    key: 'recoverSkipCorrupt',
    flag: '--recover-skip-corrupt',
    env: 'BATON_RECOVER_SKIP_CORRUPT',
    kind: 'bool',
    default: false,
    help: 'Start past corrupt journal records (skipped, copied aside, logged) instead of refusing to',
  },
  {
    key: 'controlSocket',
    flag: '--control-socket',
    env: 'BATON_CONTROL_SOCKET',
    kind: 'string',
    default: '',
    help: "Local control socket (mode 0600, JSON lines: redrive, ping) for local tools; default <data-dir>/baton.sock with the journal store, none with memory; 'off': none",
  },
  {
    key: 'tlsCert',
    flag: '--tls-cert',
    env: 'BATON_TLS_CERT',
    kind: 'string',
    default: '',
    help: 'PEM certificate (chain) of the TLS listeners; with --tls-key, AMQPS and HTTPS listen',
  },
  {
    key: 'tlsKey',
    flag: '--tls-key',
    env: 'BATON_TLS_KEY',
    kind: 'string',
    default: '',
    help: 'PEM private key of --tls-cert (unencrypted)',
  },
  {
    key: 'tlsCa',
    flag: '--tls-ca',
    env: 'BATON_TLS_CA',
    kind: 'string',
    default: '',
    help: 'PEM CA bundle client certificates are checked against (--tls-verify peer)',
  },
  {
    key: 'tlsVerify',
    flag: '--tls-verify',
    env: 'BATON_TLS_VERIFY',
    kind: 'enum',
    values: ['none', 'peer'],
    default: 'none',
    help: 'AMQPS client certificates. none: not asked for; peer: asked for and checked against --tls-ca',
  },
  {
    key: 'tlsFailIfNoPeerCert',
    flag: '--tls-fail-if-no-peer-cert',
    env: 'BATON_TLS_FAIL_IF_NO_PEER_CERT',
    kind: 'bool',
    default: false,
    help: 'With --tls-verify peer: refuse TLS clients that send no certificate',
  },
  {
    key: 'amqpsPort',
    flag: '--amqps-port',
    env: 'BATON_AMQPS_PORT',
    kind: 'port-or-off',
    default: 5671,
    help: "AMQP over TLS port, listening when --tls-cert and --tls-key are set ('off' for none)",
  },
  {
    key: 'httpsPort',
    flag: '--https-port',
    env: 'BATON_HTTPS_PORT',
    kind: 'port-or-off',
    default: 15671,
    help: "Management API over TLS port, listening when --tls-cert and --tls-key are set ('off' for none)",
  },
  {
    key: 'defaultUser',
    flag: '--default-user',
    env: 'BATON_DEFAULT_USER',
    kind: 'string',
    default: '',
    help: 'First boot only: create this administrator (full permissions on /) instead of guest; needs --default-pass',
  },
  {
    key: 'defaultPass',
    flag: '--default-pass',
    env: 'BATON_DEFAULT_PASS',
    kind: 'string',
    default: '',
    secret: true,
    help: "First boot only: the default user's password (prefer the environment: flags show in ps)",
  },
  {
    key: 'definitions',
    flag: '--definitions',
    env: 'BATON_DEFINITIONS',
    kind: 'string',
    default: '',
    help: "RabbitMQ definitions file (users, vhosts, permissions, limits, queues, exchanges, bindings) merged in at every boot after recovery, as RabbitMQ's load_definitions; a bad file stops the start",
  },
];

/**
 * The user the first boot creates from --default-user / --default-pass (RabbitMQ's
 * default_user / default_pass), or undefined for guest/guest. One without the other is refused.
 */
export function defaultUserOf(
  config: Pick<Config, 'defaultUser' | 'defaultPass'>,
): { name: string; password: string } | undefined {
  const name = config.defaultUser ?? '';
  const password = config.defaultPass ?? '';
  if (name === '' && password === '') return undefined;
  if (name === '' || password === '')
    throw new ConfigError(
      'BATON_DEFAULT_USER (--default-user) and BATON_DEFAULT_PASS (--default-pass) go together: set both or neither',
    );
  return { name, password };
}

/** The control socket file name in the data dir, where `baton redrive --data-dir` looks. */
export const CONTROL_SOCKET_NAME = 'baton.sock';

/**
 * Where the broker's control socket goes, or undefined for none: the configured path, else
 * `<data-dir>/baton.sock` with the journal store. The memory store writes nothing to the data
 * dir, so there it takes an explicit --control-socket.
 */
export function controlSocketPath(
  config: Pick<Config, 'controlSocket' | 'dataDir' | 'store'>,
): string | undefined {
  if (config.controlSocket === 'off') return undefined;
  if (config.controlSocket !== '') return resolve(config.controlSocket);
  return config.store === 'journal'
    ? join(resolve(config.dataDir), CONTROL_SOCKET_NAME)
    : undefined;
}

export function defaultConfig(): Config {
  const c: Record<string, unknown> = {};
  for (const o of OPTIONS) c[o.key] = o.default;
  return c as unknown as Config;
}

/**
 * Build the configuration from argv (after the command), the environment and an optional JSON
 * config file named by `--config` or BATON_CONFIG. Throws ConfigError with a message that names
 * the source of the bad value.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(argv);
  const config = defaultConfig() as unknown as Record<string, unknown>;
  // Where each explicitly set option came from (a TLS port without a certificate is an error).
  const given = new Map<string, string>();
  const file = flags.get('--config') ?? env.BATON_CONFIG;
  if (file !== undefined) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    for (const [k, v] of Object.entries(data)) {
      const o = OPTIONS.find((x) => x.key === k);
      if (o === undefined)
        throw new ConfigError(
          `config file ${file}: unknown key '${k}' (known: ${OPTIONS.map((x) => x.key).join(', ')})`,
        );
      config[k] = parse(o, String(v), `config file ${file} key '${k}'`);
      given.set(k, `config file ${file} key '${k}'`);
    }
  }
  for (const o of OPTIONS) {
    const e = env[o.env];
    if (e !== undefined && e !== '') {
      config[o.key] = parse(o, e, `environment variable ${o.env}`);
      given.set(o.key, `environment variable ${o.env}`);
    }
    const f = flags.get(o.flag);
    if (f !== undefined) {
      config[o.key] = parse(o, f, `flag ${o.flag}`);
      given.set(o.key, `flag ${o.flag}`);
    }
  }
  const c = config as unknown as Config;
  checkTlsOptions(c, given);
  defaultUserOf(c);
  return c;
}

/**
 * TLS settings that cannot work together are refused rather than ignored: a TLS port or
 * verification option without a certificate and key, or peer checks without a CA.
 */
function checkTlsOptions(c: Config, given: ReadonlyMap<string, string>): void {
  const tls = c.tlsCert !== '' && c.tlsKey !== '';
  if ((c.tlsCert !== '') !== (c.tlsKey !== ''))
    throw new ConfigError(
      c.tlsCert !== ''
        ? `--tls-cert ${c.tlsCert} needs --tls-key (the certificate's private key)`
        : `--tls-key ${c.tlsKey} needs --tls-cert (the certificate it belongs to)`,
    );
  if (!tls) {
    for (const key of ['amqpsPort', 'httpsPort', 'tlsCa', 'tlsVerify', 'tlsFailIfNoPeerCert']) {
      const source = given.get(key);
      const value = (c as unknown as Record<string, unknown>)[key];
      // Turning a TLS listener off needs no certificate.
      if (source !== undefined && value !== 'off' && value !== false && value !== 'none')
        throw new ConfigError(
          `${source}: TLS needs --tls-cert and --tls-key (PEM files); none are configured`,
        );
    }
  }
  if (c.tlsVerify === 'peer' && c.tlsCa === '')
    throw new ConfigError(
      '--tls-verify peer needs --tls-ca (the CA client certificates are checked against)',
    );
  if (c.tlsFailIfNoPeerCert && c.tlsVerify !== 'peer')
    throw new ConfigError('--tls-fail-if-no-peer-cert needs --tls-verify peer');
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set([...OPTIONS.map((o) => o.flag), '--config']);
  const switches = new Set(OPTIONS.filter((o) => o.kind === 'bool').map((o) => o.flag));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(name))
      throw new ConfigError(`unknown option '${name}'; run 'baton help' for the list`);
    // A switch alone means true; `--switch=false` turns it off.
    const value = eq > 0 ? arg.slice(eq + 1) : switches.has(name) ? 'true' : argv[++i];
    if (value === undefined) throw new ConfigError(`option ${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

function parse(o: Option, raw: string, source: string): string | number | boolean {
  switch (o.kind) {
    case 'port-or-off':
      if (raw.trim() === 'off') return 'off';
      return parse({ ...o, kind: 'port' }, raw, source);
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${source}: '${raw}' is not true or false`);
    case 'string':
      if (raw === '') throw new ConfigError(`${source}: must not be empty`);
      return raw;
    case 'enum':
      if (!o.values!.includes(raw))
        throw new ConfigError(`${source}: '${raw}' is not one of ${o.values!.join(', ')}`);
      return raw;
    case 'number': {
      if (!/^\d+(\.\d+)?$/.test(raw.trim()))
        throw new ConfigError(`${source}: '${raw}' is not a non-negative number`);
      const n = Number(raw);
      if (n < (o.min ?? 0) || n > (o.max ?? Number.MAX_VALUE))
        throw new ConfigError(`${source}: ${n} is outside ${o.min ?? 0}..${o.max}`);
      return n;
    }
    case 'port':
    case 'int': {
      const min = o.kind === 'port' ? 0 : (o.min ?? 0);
      const max = o.kind === 'port' ? 65535 : (o.max ?? Number.MAX_SAFE_INTEGER);
      if (!/^\d+$/.test(raw.trim()))
        throw new ConfigError(`${source}: '${raw}' is not a whole number`);
      const n = Number(raw);
      if (n < min || n > max) throw new ConfigError(`${source}: ${n} is outside ${min}..${max}`);
      return n;
    }
  }
}

export function usage(): string {
  const lines = ['Usage: baton serve [options]', '', 'Options (flag / environment / default):'];
  for (const o of OPTIONS)
    lines.push(
      `  ${o.flag.padEnd(25)} ${o.env.padEnd(29)} ${(o.secret === true || o.default === '' ? '-' : String(o.default)).padEnd(10)} ${o.help}`,
    );
  lines.push(
    `  ${'--config'.padEnd(25)} ${'BATON_CONFIG'.padEnd(29)} ${'-'.padEnd(10)} JSON file with any of the keys above`,
  );
  return lines.join('\n');
}
