import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { bindingRoutes } from './bindings.js';
import { connectionRoutes } from './connections.js';
import { dashboardRoutes } from './dashboard.js';
import { exchangeRoutes } from './exchanges.js';
import { healthRoutes } from './health.js';
import { overviewRoutes } from './overview.js';
import { queueRoutes } from './queues.js';
import { userRoutes } from './users.js';
import { vhostRoutes } from './vhosts.js';

/** One group of management routes; each file under routes/ exports one. */
export type RouteGroup = (app: FastifyInstance, ctx: HttpContext) => void;

/** Every route group the management server mounts, in order. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  overviewRoutes,
  vhostRoutes,
  userRoutes,
  connectionRoutes,
  exchangeRoutes,
  queueRoutes,
  bindingRoutes,
  healthRoutes,
  dashboardRoutes,
];
