// Smoke test of the reference foundation fixture (test/fixtures/foundation) on a real PostgreSQL:
// if this fixture is wrong, every test that vendors a module into it proves nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../testing/databases.ts';
import { copyReferenceFoundation, loadReferenceFoundation, type FoundationTenant as Tenant, type ReferenceFoundationApi as Foundation } from './helpers/reference-foundation.ts';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const NOTES_MODULE = `import { Router } from 'express';
import { sql } from 'drizzle-orm';
import { withTenantTx } from '../../../../lib/db/tenant-db.ts';
import { requirePermission } from '../../../../lib/security/rbac.ts';

export const permissions = ['notes.notes.read'];

const router = Router();
router.get('/notes', requirePermission('notes.notes.read'), async (req, res) => {
  const rows = await withTenantTx(req.auth!.tenantId, async (db) => (await db.execute(sql\`SELECT body FROM notes ORDER BY id\`)).rows);
  res.json({ data: rows });
});
router.get('/boom', () => {
  throw new Error('secret detail');
});
export default router;
`;

// JSX in a module's client folder: the fixture's tsconfig must leave it alone (no jsx, no react types).
const NOTES_CLIENT = `export default function Notes() { return <main>notes</main>; }\n`;

let database: ThrowawayDatabase;
let pool: pg.Pool;
let copy: string;
let f: Foundation;
let app: Express;


function writeFile(rel: string, text: string): void {
  const file = path.join(copy, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

async function systemSnapshot(): Promise<unknown> {
  const { rows } = await pool.query(`
    SELECT (SELECT count(*) FROM pg_namespace) AS schemas,
           (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables,
           (SELECT count(*) FROM public.org_tenants) AS tenants,
           (SELECT count(*) FROM public.org_users) AS users,
           (SELECT count(*) FROM public.org_roles) AS roles`);
  return rows[0];
}

beforeAll(async () => {
  database = await createThrowawayDatabase(SERVER_URL);
  pool = new pg.Pool({ connectionString: database.url, max: 5 });
  pool.on('error', () => {});

  copy = copyReferenceFoundation();
  writeFile('src/modules/notes/server/routes/index.ts', NOTES_MODULE);
  writeFile('src/modules/notes/client/Notes.tsx', NOTES_CLIENT);
  writeFile('src/modules/broken/server/routes/index.ts', `export default { not: 'a router' };\n`);
  writeFile('src/modules/Bad_Name/server/routes/index.ts', `throw new Error('must never be imported');\n`);

  f = await loadReferenceFoundation(copy);
  f.pool.setPool(pool);
  await f.bootstrap.bootstrap(pool);
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  app = await f.app.createApp();
  vi.mocked(console.warn).mockRestore();
});

afterAll(async () => {
  await pool?.end();
  await database?.drop().catch(() => {});
  if (copy) fs.rmSync(copy, { recursive: true, force: true });
});

describe('reference foundation', () => {
  let acme: Tenant;
  let globex: Tenant;
  let alice: { id: string };

  it('bootstraps idempotently', async () => {
    const before = await systemSnapshot();
    await f.bootstrap.bootstrap(pool);
    await f.bootstrap.bootstrap(pool);
    expect(await systemSnapshot()).toEqual(before);
  });

  it('gives each tenant its own schema, t_<slug>_<6 hex>', async () => {
    acme = await f.tenants.createTenant(pool, 'acme');
    globex = await f.tenants.createTenant(pool, 'globex-co');
    expect(acme.schemaName).toMatch(/^t_acme_[0-9a-f]{6}$/);
    expect(globex.schemaName).toMatch(/^t_globex_co_[0-9a-f]{6}$/);
    expect((await f.tenants.listTenants(pool)).map((t) => t.slug)).toEqual(['acme', 'globex-co']);
    await expect(f.tenants.createTenant(pool, 'Bad Slug')).rejects.toThrow(/Invalid tenant slug/);

    for (const [tenant, bodies] of [[acme, ['acme one', 'acme two']], [globex, ['globex only']]] as const) {
      await pool.query(`CREATE TABLE "${tenant.schemaName}".notes (id serial PRIMARY KEY, body text NOT NULL)`);
      await pool.query(`INSERT INTO "${tenant.schemaName}".notes (body) SELECT unnest($1::text[])`, [bodies]);
    }
    alice = await f.tenants.createUser(pool, 'alice@example.test');
    expect(await f.tenants.createUser(pool, 'alice@example.test')).toEqual(alice);
  });

  it('answers 401 { message, statusCode } without a token or with a bad one', async () => {
    for (const auth of [undefined, 'Bearer not.a.jwt', 'Basic abc']) {
      const req = supertest(app).get('/api/plugins/notes/notes');
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: expect.any(String), statusCode: 401 });
    }
  });

  it('answers 403 until the permission is granted, then 200 with only that tenant\'s rows', async () => {
    const acmeToken = await f.jwt.signToken({ userId: alice.id, tenantId: acme.id });
    const globexToken = await f.jwt.signToken({ userId: alice.id, tenantId: globex.id });
    const get = (token: string) => supertest(app).get('/api/plugins/notes/notes').set('Authorization', `Bearer ${token}`);

    const denied = await get(acmeToken);
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ message: 'Forbidden', statusCode: 403, missing: 'notes.notes.read' });

    await f.rbac.grantPermissions(pool, { userId: alice.id, tenantId: acme.id }, ['notes.notes.read']);
    await f.rbac.grantPermissions(pool, { userId: alice.id, tenantId: acme.id }, ['notes.notes.read']);
    const allowed = await get(acmeToken);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ data: [{ body: 'acme one' }, { body: 'acme two' }] });

    // Permissions are per tenant: a grant in acme is nothing in globex.
    expect((await get(globexToken)).status).toBe(403);
    await f.rbac.grantPermissions(pool, { userId: alice.id, tenantId: globex.id }, ['notes.notes.read'], 'reader');
    expect((await get(globexToken)).body).toEqual({ data: [{ body: 'globex only' }] });
  });

  it('answers 404 { message, statusCode } for unknown routes and hides 500 details', async () => {
    const missing = await supertest(app).get('/api/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'Not found', statusCode: 404 });

    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const boom = await supertest(app).get('/api/plugins/notes/boom');
    expect(boom.status).toBe(500);
    expect(boom.body).toEqual({ message: 'Internal Server Error', statusCode: 500 });
    expect(errors).toHaveBeenCalled();
    errors.mockRestore();
  });

  it('mounts only modules with a valid id and a default Router export', async () => {
    expect(app.locals.modules).toEqual([{ id: 'notes', permissions: ['notes.notes.read'] }]);
    const broken = await supertest(app).get('/api/plugins/broken/anything');
    expect(broken.status).toBe(404);
    expect(broken.body).toEqual({ message: 'Not found', statusCode: 404 });
  });

  it('withTenantTx: unknown tenants are 404s, and a throw rolls back', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'acme']) {
      await expect(f.tenantDb.withTenantTx(id, async () => 1)).rejects.toMatchObject({ statusCode: 404 });
    }
    const { sql } = await import('drizzle-orm');
    await expect(
      f.tenantDb.withTenantTx(acme.id, async (db) => {
        await db.execute(sql`INSERT INTO notes (body) VALUES ('rolled back')`);
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    const rows = await f.tenantDb.withTenantTx(acme.id, async (db) => (await db.execute(sql`SELECT body FROM notes`)).rows);
    expect(rows).toHaveLength(2);
  });

  it('bootstrap CLI creates the tenants it is given, once', () => {
    for (let run = 0; run < 2; run++) {
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/bootstrap.ts', 'initech', 'acme'], {
        cwd: copy,
        env: { ...process.env, DATABASE_URL: database.url },
        encoding: 'utf8',
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(run === 0 ? /tenant initech: created/ : /tenant initech: exists/);
      expect(res.stdout).toMatch(/tenant acme: exists/);
    }
  });

  it('type-checks with its own tsconfig', () => {
    const res = spawnSync('npx', ['tsc', '--noEmit', '-p', path.join(copy, 'tsconfig.json')], { cwd: copy, encoding: 'utf8' });
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
  });
});
