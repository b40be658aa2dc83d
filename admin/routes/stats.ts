/** `GET /plugins/stats`: each plugin's request figures since the process started. */
import express, { type Router } from 'express';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import type { PluginStats } from '../../sandbox/observability/plugin-stats.ts';
import { requirePermission, type AdminAccess } from '../access.ts';

export function statsRoutes(stats: PluginStats, access: AdminAccess): Router {
  const router = express.Router();
  router.get('/plugins/stats', requirePermission(access, HOST_PERMISSIONS.pluginsRead), (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(stats.snapshot());
  });
  return router;
}
