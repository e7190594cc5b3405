import type { FastifyRequest } from 'fastify';
import { badRequest } from './problem.js';

/**
 * RabbitMQ's query parameters on management reads: `columns` (projection, dotted paths),
 * `sort` / `sort_reverse`, `page` / `page_size` / `name` / `use_regex` (the paged answer) and
 * `disable_stats` (no message_stats nor rates). Like RabbitMQ, the age and increment
 * parameters of its detailed mode (`lengths_age`, `msg_rates_age`, …) and unknown ones (the
 * UI's cache-buster `_`) are ignored: Baton's basic mode has a single sample window.
 */
export interface ListQuery {
  columns?: string;
  sort?: string;
  sort_reverse?: string;
  page?: string;
  /** `pagination=true` asks for the paged answer (page 1 unless `page` says otherwise). */
  pagination?: string;
  page_size?: string;
  name?: string;
  use_regex?: string;
  disable_stats?: string;
}

/** RabbitMQ's page size limits. */
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;

export type Item = Record<string, unknown>;

/** A paged answer, as RabbitMQ shapes it. */
export interface Page {
  filtered_count: number;
  item_count: number;
  items: Item[];
  page: number;
  page_count: number;
  page_size: number;
  total_count: number;
}

function query(req: FastifyRequest): ListQuery {
  return req.query ?? {};
}

/** Apply the list parameters; `defaultSort` keys order the list when `sort` is not given. */
export function listReply(
  req: FastifyRequest,
  items: Item[],
  defaultSort: readonly string[] = ['vhost', 'name'],
): Item[] | Page {
  const q = query(req);
  const keys = q.sort !== undefined && q.sort !== '' ? [q.sort] : defaultSort;
  const reverse = q.sort_reverse === 'true';
  items.sort((a, b) => {
    for (const k of keys) {
      const c = compare(pathValue(a, k), pathValue(b, k));
      if (c !== 0) return reverse ? -c : c;
    }
    return 0;
  });
  if (q.page === undefined && q.pagination !== 'true') return items.map((i) => shape(i, q));
  const page = q.page === undefined ? 1 : positiveInt(q.page, 'page');
  const pageSize =
    q.page_size === undefined ? DEFAULT_PAGE_SIZE : positiveInt(q.page_size, 'page_size');
  if (pageSize > MAX_PAGE_SIZE)
    throw badRequest(`page_size ${pageSize} is larger than the maximum of ${MAX_PAGE_SIZE}`);
  const filtered = filterByName(items, q);
  const pageCount = Math.ceil(filtered.length / pageSize);
  if (page > pageCount && filtered.length > 0)
    throw badRequest(`page ${page} is out of range: there are ${pageCount} pages`);
  const slice = filtered.slice((page - 1) * pageSize, page * pageSize).map((i) => shape(i, q));
  return {
    filtered_count: filtered.length,
    item_count: slice.length,
    items: slice,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: items.length,
  };
}

/** One object's answer: `columns` and `disable_stats` apply, as on lists. */
export function itemReply(req: FastifyRequest, item: Item): Item {
  return shape(item, query(req));
}

function filterByName(items: Item[], q: ListQuery): Item[] {
  const name = q.name;
  if (name === undefined || name === '') return items;
  if (q.use_regex === 'true') {
    let re: RegExp;
    try {
      re = new RegExp(name);
    } catch (err) {
      throw badRequest(`name is not a valid regular expression: ${(err as Error).message}`);
    }
    return items.filter((i) => re.test(nameOf(i)));
  }
  return items.filter((i) => nameOf(i).includes(name));
}

function nameOf(i: Item): string {
  return typeof i.name === 'string' ? i.name : '';
}

function shape(item: Item, q: ListQuery): Item {
  const noStats = q.disable_stats === 'true';
  const out = noStats ? withoutStats(item) : item;
  if (q.columns === undefined || q.columns === '') return out;
  return project(out, q.columns.split(','));
}

/** RabbitMQ's disable_stats: no message_stats and no `*_details` rates. */
function withoutStats(item: Item): Item {
  const out: Item = {};
  for (const [k, v] of Object.entries(item))
    if (k !== 'message_stats' && !k.endsWith('_details')) out[k] = v;
  return out;
}

/** Keep only the named columns; `a.b` keeps `{a: {b}}`, as RabbitMQ does. */
export function project(item: Item, columns: string[]): Item {
  const out: Item = {};
  for (const col of columns) {
    const path = col.trim().split('.');
    let from: unknown = item;
    let into = out;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      if (from === null || typeof from !== 'object' || !(key in from)) break;
      from = (from as Item)[key];
      if (i === path.length - 1) into[key] = from;
      else {
        const next = into[key];
        const child: Item = next !== null && typeof next === 'object' ? (next as Item) : {};
        into[key] = child;
        into = child;
      }
    }
  }
  return out;
}

function pathValue(item: Item, path: string): unknown {
  let v: unknown = item;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Item)[key];
  }
  return v;
}

/** Missing values first, then numbers, then text, as RabbitMQ's term order roughly does. */
function compare(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' || typeof v === 'boolean') return 1;
  return 2;
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw badRequest(`${name} must be a positive integer, got '${text}'`);
  return n;
}
