import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { bindingWriteRoutes } from './binding-writes.js';
import { definitionRoutes } from './definitions.js';
import { exchangeWriteRoutes } from './exchange-writes.js';
import { publishRoutes } from './publish.js';
import { queueGetRoutes } from './queue-get.js';
import { queueWriteRoutes } from './queue-writes.js';

/** One group of management routes; each file under routes/ exports one. */
export type RouteGroup = (app: FastifyInstance, ctx: HttpContext) => void;

/** Every route group the management server mounts, in order. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  queueWriteRoutes,
  exchangeWriteRoutes,
  bindingWriteRoutes,
  publishRoutes,
  queueGetRoutes,
  definitionRoutes,
];
