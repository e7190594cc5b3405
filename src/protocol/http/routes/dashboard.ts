import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.js';
import { sendProblem } from '../problem.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
};

/** The page may load only its own scripts and styles, and talk only to this server. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The folder holding the dashboard's files: `web/` at the package root, found by walking up
 * from this file (dist/src/protocol/http/routes/ when built, src/... when run from source).
 */
export function findWebRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const web = join(dir, 'web');
    if (existsSync(join(dir, 'package.json')) && existsSync(join(web, 'index.html'))) return web;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every file under `root`, keyed by its URL path. Only these paths are served, so no request
 * can reach outside the folder however it spells `..`.
 */
export function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const file = join(dir, name);
      if (statSync(file).isDirectory()) {
        walk(file);
        continue;
      }
      const type = TYPES[extname(name).toLowerCase()];
      if (type === undefined) continue;
      const body = readFileSync(file);
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
      assets.set('/' + relative(root, file).split(sep).join('/'), { body, type, etag });
    }
  };
  walk(root);
  return assets;
}

function serve(asset: Asset, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Revalidate every time (cheap: a 304 by ETag), so an upgraded broker never serves a stale app.
  reply
    .header('cache-control', 'no-cache')
    .header('etag', asset.etag)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (asset.type.startsWith('text/html'))
    reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

/**
 * The dashboard: static files from `web/` at `/` (the API under /api needs auth, these do not).
 * Pages are hash routes (`#/queues/%2F/orders`), so the server needs no route per page.
 */
export function dashboardRoutes(
  app: FastifyInstance,
  ctx: HttpContext,
  root = findWebRoot(),
): void {
  if (root === undefined) {
    ctx.logger.warn('dashboard files (web/) not found beside the package: the dashboard is off');
    app.get('/', PUBLIC, (_req, reply) =>
      sendProblem(reply, 404, 'the dashboard files (web/) are missing from this installation'),
    );
    return;
  }
  const assets = loadAssets(root);
  for (const [path, asset] of assets) {
    if (path.startsWith('/api/')) continue;
    app.get(path, PUBLIC, (req, reply) => serve(asset, req, reply));
  }
  const index = assets.get('/index.html')!;
  app.get('/', PUBLIC, (req, reply) => serve(index, req, reply));
}

/** Static files need no login (the page asks for one); see auth.ts. */
const PUBLIC = { config: { public: true } };
