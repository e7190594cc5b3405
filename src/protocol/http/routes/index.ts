import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { bindingRoutes } from './bindings.js';
import { bindingWriteRoutes } from './binding-writes.js';
import { connectionRoutes } from './connections.js';
import { dashboardRoutes } from './dashboard.js';
import { definitionRoutes } from './definitions.js';
import { exchangeRoutes } from './exchanges.js';
import { exchangeWriteRoutes } from './exchange-writes.js';
import { healthRoutes } from './health.js';
import { journalRoutes } from './journal.js';
import { limitRoutes } from './limits.js';
import { notYetRoutes } from './not-yet.js';
import { overviewRoutes } from './overview.js';
import { permissionRoutes } from './permissions.js';
import { publishRoutes } from './publish.js';
import { queueGetRoutes } from './queue-get.js';
import { queueRoutes } from './queues.js';
import { queueWriteRoutes } from './queue-writes.js';
import { traceRoutes } from './trace.js';
import { userRoutes } from './users.js';
import { vhostRoutes } from './vhosts.js';
import { vhostsWrite } from './vhosts-write.js';

/** One group of management routes; each file under routes/ exports one. */
export type RouteGroup = (app: FastifyInstance, ctx: HttpContext) => void;

/** Every route group the management server mounts, in order. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  overviewRoutes,
  vhostRoutes,
  userRoutes,
  permissionRoutes,
  limitRoutes,
  connectionRoutes,
  exchangeRoutes,
  queueRoutes,
  bindingRoutes,
  healthRoutes,
  queueWriteRoutes,
  exchangeWriteRoutes,
  bindingWriteRoutes,
  publishRoutes,
  queueGetRoutes,
  definitionRoutes,
  journalRoutes,
  vhostsWrite,
  traceRoutes,
  notYetRoutes,
  dashboardRoutes,
];
