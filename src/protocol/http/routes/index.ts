import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { traceRoutes } from './trace.js';
import { vhostsWrite } from './vhosts-write.js';
import { journalRoutes } from './journal.js';

/** One group of management routes; each file under routes/ exports one. */
export type RouteGroup = (app: FastifyInstance, ctx: HttpContext) => void;

/** Every route group the management server mounts, in order. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [journalRoutes, vhostsWrite, traceRoutes];
