/**
 * A plugin's configuration, global and per tenant: `GET` shows its JSON schema, the values set,
 * the effective configuration and which keys are inherited (the schema's defaults, not set);
 * `PUT …/config/:key` sets one key and `DELETE …/config/:key` removes it, checked against the
 * schema by the same validator as `plugins config`: a refused value answers 422 with each problem
 * at its field path. Writes are versioned (`If-Match`), as every admin write.
 */
import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { HttpError } from '../../foundation-lib/http-error.ts';
import { ConfigWriteError, readPluginConfig, setPluginConfig, type ConfigTarget } from '../../operations/registry/config-admin.ts';
import { findTenants } from '../../operations/registry/enablement.ts';
import { readRevision, StaleWriteError } from '../../operations/registry/revisions.ts';
import { configKeyProblem, HOST_PERMISSIONS } from '../../rules/index.ts';
import type { ConfigLevel, ConfigSchema } from '../../sandbox/plugins/config-schema.ts';
import { requirePermission, type AdminAccess } from '../access.ts';
import { staleWriteAnswer } from '../refusals.ts';
import { etag, readIfMatch, readQuery, rules } from '../request-input.ts';

export interface PluginCatalog {
  id: string;
  configSchemas: Partial<Record<ConfigLevel, ConfigSchema>>;
}

export function configRoutes(pool: pg.Pool, catalogs: PluginCatalog[], access: AdminAccess): Router {
  const router = express.Router();
  const read = requirePermission(access, HOST_PERMISSIONS.pluginsRead);
  const write = requirePermission(access, HOST_PERMISSIONS.configWrite);

  const targetOf = async (req: Request<{ id: string; code?: string }>): Promise<{ catalog: PluginCatalog; target: ConfigTarget; level: ConfigLevel }> => {
    const problem = rules.pluginId(req.params.id);
    if (problem) throw new HttpError(400, 'INVALID_PLUGIN_ID', `${JSON.stringify(req.params.id.slice(0, 64))} ${problem}.`);
    const catalog = catalogs.find((c) => c.id === req.params.id);
    if (!catalog) throw new HttpError(404, 'PLUGIN_NOT_FOUND', `This host runs no plugin "${req.params.id}".`, { pluginId: req.params.id });
    if (req.params.code === undefined) return { catalog, target: { pluginId: catalog.id }, level: 'global' };
    const codeProblem = rules.tenantCode(req.params.code);
    if (codeProblem) throw new HttpError(400, 'INVALID_TENANT_CODE', `${JSON.stringify(req.params.code.slice(0, 64))} ${codeProblem}.`);
    const { tenants } = await findTenants(pool, [req.params.code]);
    if (!tenants[0]) throw new HttpError(404, 'TENANT_NOT_FOUND', `No tenant has the code "${req.params.code}".`, { tenant: req.params.code });
    return { catalog, target: { pluginId: catalog.id, tenant: { id: tenants[0].id, code: tenants[0].code } }, level: 'tenant' };
  };

  const show = async (req: Request<{ id: string; code?: string }>, res: Response) => {
    readQuery(req, {});
    const { catalog, target, level } = await targetOf(req);
    const schema = catalog.configSchemas[level];
    const values = await readPluginConfig(pool, target);
    if (values === undefined) throw new HttpError(404, 'PLUGIN_NOT_INSTALLED', `Plugin ${catalog.id} is not installed${target.tenant ? ` in tenant ${target.tenant.code}` : ''}: it has no configuration there yet.`);
    const effective = schema ? schema.withDefaults(values) : values;
    const revision = await readRevision(pool, catalog.id, target.tenant?.id ?? null);
    res.setHeader('ETag', etag(revision.revision));
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      pluginId: catalog.id, tenant: target.tenant?.code ?? null, level, schema: schema?.source ?? null,
      set: values, effective, inherited: Object.keys(effective).filter((key) => !Object.hasOwn(values, key)).sort(), ...revision,
    });
  };

  const change = async (req: Request<{ id: string; code?: string; key: string }>, res: Response, value: unknown) => {
    const { catalog, target, level } = await targetOf(req);
    const keyProblem = configKeyProblem(req.params.key);
    if (keyProblem) throw new HttpError(400, 'INVALID_CONFIG_KEY', `Config key ${JSON.stringify(req.params.key.slice(0, 64))} ${keyProblem}.`);
    const expectedRevision = readIfMatch(req);
    try {
      await setPluginConfig({ pool, key: req.params.key, value, schema: catalog.configSchemas[level], expectedRevision, ...target });
    } catch (error) {
      if (error instanceof StaleWriteError) throw staleWriteAnswer(error);
      if (error instanceof ConfigWriteError) {
        if (error.reason === 'invalid') throw new HttpError(422, 'INVALID_CONFIG', error.message, { problems: error.problems });
        throw new HttpError(409, error.reason === 'no-schema' ? 'NO_CONFIG_SCHEMA' : 'PLUGIN_NOT_INSTALLED', error.message);
      }
      throw error;
    }
    await show(req, res);
  };

  router.get('/plugins/:id/config', read, show);
  router.get('/plugins/:id/tenants/:code/config', read, show);
  for (const path of ['/plugins/:id/config/:key', '/plugins/:id/tenants/:code/config/:key']) {
    router.put(path, write, async (req: Request<{ id: string; code?: string; key: string }>, res: Response) => {
      const body = req.body as unknown;
      if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1 || !Object.hasOwn(body, 'value')) {
        throw new HttpError(400, 'INVALID_BODY', 'Send a JSON object with the one field value: {"value": …}.', { field: 'value' });
      }
      await change(req, res, (body as { value: unknown }).value);
    });
    router.delete(path, write, (req: Request<{ id: string; code?: string; key: string }>, res: Response) => change(req, res, undefined));
  }
  return router;
}
