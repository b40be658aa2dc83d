/**
 * `GET /audit`: the audit log, filtered and paged (newest first); `GET /audit/export`: all of it
 * that matches, streamed as JSON lines or CSV.
 */
import express, { type Request, type Router } from 'express';
import type pg from 'pg';
import { auditCsv, auditJsonLines, auditLogEntries, readAuditLog, type AuditFilter } from '../../operations/audit/audit-log.ts';
import { HOST_PERMISSIONS } from '../../rules/index.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { readQuery, rules } from '../request-input.ts';

const FILTERS = {
  tenant: rules.tenantCode, plugin: rules.pluginId, actor: rules.actor, action: rules.text(64), from: rules.instant, to: rules.instant,
};

function filterOf(query: Partial<Record<keyof typeof FILTERS, string>>): AuditFilter {
  return {
    tenant: query.tenant, plugin: query.plugin, actor: query.actor, action: query.action,
    from: query.from === undefined ? undefined : new Date(query.from), to: query.to === undefined ? undefined : new Date(query.to),
  };
}

export function auditRoutes(pool: pg.Pool, access: AdminAccess): Router {
  const router = express.Router();
  const allowed = requirePermission(access, HOST_PERMISSIONS.auditRead);

  router.get('/audit', allowed, async (req: Request, res) => {
    const query = readQuery(req, { ...FILTERS, before: rules.cursor, limit: rules.integer(1, 1000) });
    const page = await readAuditLog(pool, filterOf(query), { before: query.before, limit: query.limit === undefined ? 100 : Number(query.limit) });
    res.setHeader('Cache-Control', 'no-store');
    res.json(page);
  });

  router.get('/audit/export', allowed, async (req: Request, res) => {
    const query = readQuery(req, { ...FILTERS, format: rules.oneOf('jsonl', 'csv') });
    const csv = query.format === 'csv';
    res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit.${csv ? 'csv' : 'jsonl'}"`);
    res.setHeader('Cache-Control', 'no-store');
    let first = true;
    for await (const batch of auditLogEntries(pool, filterOf(query))) {
      if (res.destroyed) return; // the client went away: read no further
      if (!res.write(csv ? auditCsv(batch, { header: first }) : auditJsonLines(batch))) {
        await new Promise((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
      first = false;
    }
    if (csv && first) res.write(auditCsv([], { header: true }));
    res.end();
  });
  return router;
}
