import { optionValue, type OptionSpec, type ParsedArgs } from './args.js';
import { ApiError, UnreachableError, UsageError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:15672';

/** How every command reaches the broker, RabbitMQ-style (rabbitmqadmin's defaults). */
export const CONNECTION_OPTIONS: readonly OptionSpec[] = [
  {
    name: '--url',
    value: 'URL',
    help: `Management API (BATON_URL, default ${DEFAULT_URL}); may hold user:password@`,
  },
  { name: '--user', value: 'NAME', help: 'User name (BATON_USER, default guest)' },
  { name: '--password', value: 'PASS', help: 'Password (BATON_PASSWORD, default guest)' },
];

/** Where to send requests and as whom; `url` carries no credentials, so it can be shown. */
export interface ApiConnection {
  url: URL;
  user: string;
  password: string;
}

/** Flags first, then credentials in the URL, then the environment, then guest/guest. */
export function connectionFrom(args: ParsedArgs, env: NodeJS.ProcessEnv): ApiConnection {
  const raw = optionValue(args, '--url') ?? (env.BATON_URL || DEFAULT_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo what may hold a password: only the part before any '@'.
    const shown = raw.includes('@')
      ? `${raw.slice(0, raw.indexOf('//') + 2)}…@${raw.slice(raw.lastIndexOf('@') + 1)}`
      : raw;
    throw new UsageError(`--url: '${shown}' is not a URL (like ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url: '${url.protocol}' is not http: or https:`);
  const user =
    optionValue(args, '--user') ??
    (url.username !== '' ? decodeURIComponent(url.username) : env.BATON_USER || 'guest');
  const password =
    optionValue(args, '--password') ??
    (url.password !== '' ? decodeURIComponent(url.password) : env.BATON_PASSWORD || 'guest');
  url.username = '';
  url.password = '';
  return { url, user, password };
}

/** `/api/…` path segments, each percent-encoded ('/' → %2F, as vhost '/' needs). */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map(encodeURIComponent).join('/')}`;
}

export interface RequestOptions {
  /** A JSON value, or a stream of already-encoded JSON bytes (sent as is). */
  body?: unknown;
  /** Resolve with undefined on 404 instead of throwing (optional endpoints). */
  allowNotFound?: boolean;
  /** Extra request headers (X-Reason for closing a connection). */
  headers?: Record<string, string>;
}

/** The management API over fetch with HTTP basic auth. */
export class ApiClient {
  readonly url: URL;
  readonly user: string;
  readonly #auth: string;

  constructor(conn: ApiConnection) {
    this.url = conn.url;
    this.user = conn.user;
    this.#auth = `Basic ${Buffer.from(`${conn.user}:${conn.password}`).toString('base64')}`;
  }

  /** The URL as shown to people: no credentials, no trailing slash. */
  get shown(): string {
    return this.url.href.replace(/\/$/, '');
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  /** Sends one request; resolves with the parsed JSON reply (undefined for an empty one). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const target = new URL(this.url.pathname.replace(/\/$/, '') + path, this.url);
    const headers: Record<string, string> = {
      ...options.headers,
      authorization: this.#auth,
      accept: 'application/json',
    };
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (options.body instanceof ReadableStream) {
      headers['content-type'] = 'application/json';
      init.body = options.body;
      init.duplex = 'half'; // Node's fetch streams a request body only when told so.
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
      res = await fetch(target, init);
    } catch (err) {
      throw new UnreachableError(unreachable(this.shown, err), { cause: err });
    }
    const text = await res.text();
    if (res.status === 404 && options.allowNotFound === true) return undefined as T;
    if (res.status === 401)
      // Which login was refused, and where (never the password).
      throw new ApiError(401, `${reasonOf(res, text)} (user '${this.user}' at ${this.shown})`);
    if (!res.ok) throw new ApiError(res.status, reasonOf(res, text));
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        res.status,
        `${this.shown} answered ${method} ${path} with something that is not JSON`,
      );
    }
  }
}

/** RabbitMQ's `reason` (Baton's problem JSON carries it too), else the status line. */
function reasonOf(res: Response, text: string): string {
  try {
    const body = JSON.parse(text) as { reason?: unknown; detail?: unknown; error?: unknown };
    for (const v of [body.reason, body.detail, body.error])
      if (typeof v === 'string' && v !== '') return v;
  } catch {
    // Not JSON: a proxy's page, or not a management API at all.
  }
  return `HTTP ${res.status} ${res.statusText}`.trim();
}

function unreachable(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return `cannot reach the management API at ${url} (${why}): is 'baton serve' running there with --http-port? (set --url or BATON_URL)`;
}
