// The management API client: basic auth from sessionStorage, `x-baton-ui: 1` so a 401 does not
// open the browser's login box, and every failure as an ApiError carrying RabbitMQ's `reason`.

const KEY = 'baton.auth';
const USER = 'baton.user';

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {unknown} [body] */
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

const listeners = new Set();
/** Called with no argument when the server refuses the stored credentials. */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export function loggedInUser() {
  return sessionStorage.getItem(KEY) === null ? undefined : (sessionStorage.getItem(USER) ?? '');
}

export function logout() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(USER);
}

/** Checks the credentials against the server before keeping them. */
export async function login(user, password) {
  const auth = btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)));
  const who = await request('GET', 'whoami', undefined, auth).catch((err) => {
    // A broker without /api/whoami still proves the login with the overview.
    if (err instanceof ApiError && err.status === 404)
      return request('GET', 'overview', undefined, auth);
    throw err;
  });
  sessionStorage.setItem(KEY, auth);
  sessionStorage.setItem(USER, who && typeof who.name === 'string' ? who.name : user);
}

/** Encodes one path segment (vhost '/' becomes %2F, as RabbitMQ wants). */
export const seg = (s) => encodeURIComponent(s);

/**
 * @param {string} method
 * @param {string} path relative to /api/, e.g. `queues/${seg(vhost)}`
 * @param {unknown} [body]
 * @param {string} [auth]
 * @param {Record<string, string>} [headers]
 */
export async function request(
  method,
  path,
  body,
  auth = sessionStorage.getItem(KEY) ?? '',
  headers = {},
) {
  let res;
  try {
    res = await fetch(`api/${path}`, {
      method,
      headers: {
        authorization: `Basic ${auth}`,
        'x-baton-ui': '1',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, `the broker did not answer (${err.message}); is it running?`);
  }
  const text = await res.text();
  let data;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const reason =
      (data && typeof data === 'object' && (data.reason || data.detail || data.error)) ||
      (typeof data === 'string' && data) ||
      res.statusText;
    const err = new ApiError(res.status, `${res.status} ${reason}`, data);
    if (res.status === 401 && auth === (sessionStorage.getItem(KEY) ?? '')) {
      logout();
      for (const fn of listeners) fn(err);
    }
    throw err;
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
export const put = (path, body) => request('PUT', path, body ?? {});
export const del = (path, headers) => request('DELETE', path, undefined, undefined, headers);

/** True for the 404 of a path the server does not have at all (not a missing object). */
export function isMissingEndpoint(err) {
  return err instanceof ApiError && err.status === 404 && /no such endpoint/i.test(err.message);
}
