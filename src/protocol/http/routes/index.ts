import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { dashboardRoutes } from './dashboard.js';

/** One group of management routes; each file under routes/ exports one. */
export type RouteGroup = (app: FastifyInstance, ctx: HttpContext) => void;

/** Every route group the management server mounts, in order. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [dashboardRoutes];
