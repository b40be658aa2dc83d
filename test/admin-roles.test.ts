/**
 * Role templates on both servers, through the admin API, a job and the CLI: the diff per tenant
 * role (what the template adds, how many users hold the role), apply changing exactly that role,
 * decline remembered for the template's version (and not proposed again), a bulk apply as a job,
 * every decision in the audit log, hostile input refused.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServers, startTestSandbox, type TestSandbox } from '../testing/index.ts';
import { REPO_ROOT } from './helpers/examples.ts';
import { capabilityModule, removeCapabilityModules } from './helpers/capability-modules.ts';

afterAll(removeCapabilityModules);

const ADMIN = 'admin@sandbox.dev';
const PLUGIN = `
export const permissions = ['inv.items.read', 'inv.items.reconcile', 'inv.items.audit'];
const plugin: FoundationPlugin = {
  meta: { id: 'inv', version: '1.2.0', api: '1.x' },
  async register() {},
};
export default plugin;
`;
const CONFIG = `permissions: ['inv.items.read', 'inv.items.reconcile', 'inv.items.audit'],
  roleTemplates: [
    { key: 'INV_MANAGER', displayName: 'Inventory manager', permissions: ['inv.items.read', 'inv.items.reconcile'] },
    { key: 'INV_AUDITOR', displayName: 'Inventory auditor', permissions: ['inv.items.read', 'inv.items.audit'] },
  ],`;

describe.each(databaseServers())('role templates on $name PostgreSQL', (server) => {
  let t: TestSandbox;
  const admin = () => t.as(ADMIN, 'dev');
  const grants = (tenant: string, role: string) => t.sql<{ permission: string }>(
    `SELECT g.permission FROM sys_role_permission g JOIN sys_role r ON r.id = g.role_id JOIN sys_tenant t ON t.id = r.tenant_id WHERE t.code = $1 AND r.key = $2 ORDER BY 1`, [tenant, role]).then((rows) => rows.map((r) => r.permission));

  beforeAll(async () => {
    t = await startTestSandbox({ moduleDirs: [capabilityModule('inv', { plugin: PLUGIN, config: CONFIG })], serverUrl: server.url });
    // The tenants' own roles: acme has a manager role with part of the template, held by one user; dev has both roles, empty.
    await t.sql(`INSERT INTO sys_role (tenant_id, key, name) SELECT id, 'INV_MANAGER', 'Stock managers' FROM sys_tenant`);
    await t.sql(`INSERT INTO sys_role (tenant_id, key, name) SELECT id, 'INV_AUDITOR', 'Auditors' FROM sys_tenant WHERE code = 'dev'`);
    await t.sql(`INSERT INTO sys_role_permission (role_id, permission) SELECT r.id, 'inv.items.read' FROM sys_role r JOIN sys_tenant t ON t.id = r.tenant_id WHERE t.code = 'acme' AND r.key = 'INV_MANAGER'`);
    await t.sql(`INSERT INTO sys_user_role (user_id, role_id) SELECT u.id, r.id FROM sys_user u, sys_role r JOIN sys_tenant t ON t.id = r.tenant_id WHERE u.email = 'user@sandbox.dev' AND t.code = 'acme' AND r.key = 'INV_MANAGER'`);
  });
  afterAll(() => t?.close());

  it('shows for each tenant role a template names what it would add and who holds it, changing nothing', async () => {
    const { body } = await admin().get('/api/admin/plugins/inv/role-templates').expect(200);
    expect(body.diffs).toEqual([
      { tenant: 'acme', role: 'INV_MANAGER', displayName: 'Inventory manager', version: '1.2.0', add: ['inv.items.reconcile'], users: 1, state: 'proposed' },
      { tenant: 'dev', role: 'INV_AUDITOR', displayName: 'Inventory auditor', version: '1.2.0', add: ['inv.items.audit', 'inv.items.read'], users: 0, state: 'proposed' },
      { tenant: 'dev', role: 'INV_MANAGER', displayName: 'Inventory manager', version: '1.2.0', add: ['inv.items.read', 'inv.items.reconcile'], users: 0, state: 'proposed' },
    ]);
    expect(await grants('acme', 'INV_MANAGER')).toEqual(['inv.items.read']);
  });

  it('applies to exactly that role, and declines are remembered and not proposed again', async () => {
    const applied = await admin().post('/api/admin/plugins/inv/role-templates/apply').send({ tenant: 'acme', role: 'INV_MANAGER' }).expect(200);
    expect(applied.body.granted).toEqual(['inv.items.reconcile']);
    expect(await grants('acme', 'INV_MANAGER')).toEqual(['inv.items.read', 'inv.items.reconcile']);
    expect(await grants('dev', 'INV_MANAGER')).toEqual([]);

    await admin().post('/api/admin/plugins/inv/role-templates/decline').send({ tenant: 'dev', role: 'INV_AUDITOR' }).expect(200);
    const after = (await admin().get('/api/admin/plugins/inv/role-templates').expect(200)).body.diffs;
    expect(after.map((d: { tenant: string; role: string }) => `${d.tenant}:${d.role}`)).toEqual(['dev:INV_MANAGER']);
    const withDeclined = (await admin().get('/api/admin/plugins/inv/role-templates?declined=true&tenant=dev').expect(200)).body.diffs;
    expect(withDeclined.find((d: { role: string }) => d.role === 'INV_AUDITOR')).toMatchObject({ state: 'declined' });
    expect(await grants('dev', 'INV_AUDITOR')).toEqual([]);

    const actions = (await admin().get('/api/admin/audit?plugin=inv').expect(200)).body.entries.map((e: { action: string; tenantCode: string; after: unknown }) => [e.action, e.tenantCode, e.after]);
    expect(actions).toEqual(expect.arrayContaining([
      ['role.grant', 'acme', { role: 'INV_MANAGER', permission: 'inv.items.reconcile' }],
      ['role-template.apply', 'acme', { role: 'INV_MANAGER', version: '1.2.0' }],
      ['role-template.decline', 'dev', { role: 'INV_AUDITOR', version: '1.2.0' }],
    ]));
  });

  it('applies every proposed suggestion across tenants as a job, leaving declined ones alone', async () => {
    const created = await admin().post('/api/admin/jobs').send({ kind: 'roles', plugin: 'inv' }).expect(201);
    const deadline = Date.now() + 20_000;
    let job = created.body;
    while (job.status !== 'done' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await admin().get(`/api/admin/jobs/${created.body.id}`).expect(200)).body;
    }
    expect(job).toMatchObject({ status: 'done', counts: { failed: 0 } });
    expect(await grants('dev', 'INV_MANAGER')).toEqual(['inv.items.read', 'inv.items.reconcile']);
    expect(await grants('dev', 'INV_AUDITOR')).toEqual([]);
    expect((await admin().get('/api/admin/plugins/inv/role-templates').expect(200)).body.diffs).toEqual([]);
  });

  it('answers the CLI the same: diff, apply and decline', async () => {
    await t.sql(`DELETE FROM sys_role_permission WHERE permission = 'inv.items.reconcile' AND role_id IN (SELECT r.id FROM sys_role r JOIN sys_tenant t ON t.id = r.tenant_id WHERE t.code = 'acme')`);
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/foundation-module.js'), '--actor', 'carol', 'roles', ...args, '--database-url', t.database.url, '--json'], { encoding: 'utf8' });
    const diff = cli('diff', 'inv', '--tenant', 'acme');
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ event: 'diff', tenant: 'acme', role: 'INV_MANAGER', add: ['inv.items.reconcile'] })]);
    const apply = cli('apply', 'inv', '--tenant', 'acme', '--role', 'INV_MANAGER');
    expect(JSON.parse(apply.stdout)).toMatchObject({ event: 'apply', granted: ['inv.items.reconcile'] });
    expect(await t.sql(`SELECT DISTINCT actor, source FROM sys_audit_log WHERE action = 'role-template.apply' AND actor = 'carol'`)).toEqual([{ actor: 'carol', source: 'cli' }]);
    const missing = cli('apply', 'inv', '--tenant', 'acme', '--role', 'NOBODY');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no role template for a role NOBODY of tenant acme/);
    for (const bad of [['apply', 'inv', '--tenant', 'acme'], ['apply', 'inv', '--tenant', 'acme', '--role', 'lower'], ['diff', 'inv', '--role', 'X'], ['purge', 'inv']]) {
      expect(cli(...bad).status, bad.join(' ')).toBe(2);
    }
  });

  it.each([
    ['a role key in lower case', { tenant: 'acme', role: 'inv_manager' }, 400, 'INVALID_BODY'],
    ['a role with SQL', { tenant: 'acme', role: "X'; DROP TABLE sys_role; --" }, 400, 'INVALID_BODY'],
    ['a tenant code with a slash', { tenant: '../dev', role: 'INV_MANAGER' }, 400, 'INVALID_BODY'],
    ['an extra field', { tenant: 'acme', role: 'INV_MANAGER', permissions: ['admin.audit.read'] }, 400, 'INVALID_BODY'],
    ['a role no template names', { tenant: 'acme', role: 'SOMETHING_ELSE' }, 404, 'ROLE_TEMPLATE_NOT_FOUND'],
    ['a tenant without that role', { tenant: 'acme', role: 'INV_AUDITOR' }, 404, 'ROLE_TEMPLATE_NOT_FOUND'],
  ])('refuses %s, changing no role', async (_what, body, status, code) => {
    const before = await t.sql('SELECT role_id, permission FROM sys_role_permission ORDER BY 1, 2');
    const res = await admin().post('/api/admin/plugins/inv/role-templates/apply').send(body);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code });
    expect(await t.sql('SELECT role_id, permission FROM sys_role_permission ORDER BY 1, 2')).toEqual(before);
  });

  it('needs admin.roles.apply to apply or decline', async () => {
    await t.grant('user@sandbox.dev', 'dev', ['admin.plugins.read']);
    await t.as('user@sandbox.dev', 'dev').get('/api/admin/plugins/inv/role-templates').expect(200);
    const refused = await t.as('user@sandbox.dev', 'dev').post('/api/admin/plugins/inv/role-templates/decline').send({ tenant: 'dev', role: 'INV_MANAGER' }).expect(403);
    expect(refused.body.error).toMatchObject({ permission: 'admin.roles.apply' });
  });
});
