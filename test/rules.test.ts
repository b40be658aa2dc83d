/**
 * Every naming rule of rules/, tested once with a table of cases. The sandbox, the generators and
 * the shell all import these functions, so these cases are what each of them accepts.
 */
import { describe, expect, it } from 'vitest';
import {
  emailProblem, kebabNameProblem, migrationFileName, parseMigrationFileName, permissionProblem, pluginIdProblem,
  schemaNameProblem, tenantCodeProblem, tenantKey, userKey,
} from '../rules/index.ts';

describe('plugin id', () => {
  it.each(['items', 'stock-ledger', 'a1', 'x2-y3', 'a'.repeat(40)])('accepts %j', (id) => {
    expect(pluginIdProblem(id)).toBeUndefined();
  });
  it.each([
    ['x', /2–40 characters/], ['a'.repeat(41), /2–40 characters/], ['Stock', /kebab-case/], ['stock_ledger', /kebab-case/],
    ['1stock', /kebab-case/], ['stock--ledger', /kebab-case/], ['-stock', /kebab-case/], ['stock-', /kebab-case/],
    ['../evil', /kebab-case/], ['a/b', /kebab-case/], ['items\0', /kebab-case/], ['api', /reserved/], ['health', /reserved/],
    ['pg-cache', /reserved/], ['sys-admin', /reserved/], [42, /string/], [undefined, /string/],
  ])('refuses %j', (id, rule) => {
    expect(pluginIdProblem(id)).toMatch(rule);
  });
});

describe('kebab-case name (entities, pages, migrations; plugin ids add reserved words)', () => {
  it.each(['ab', 'purchase-order', 'a1-b2', 'x'.repeat(40)])('accepts %j', (name) => expect(kebabNameProblem(name)).toBeUndefined());
  it.each([['a', /2–40/], ['x'.repeat(41), /2–40/], ['Purchase', /kebab-case/], ['a_b', /kebab-case/], ['a--b', /kebab-case/], ['-a', /kebab-case/], ['a-', /kebab-case/], ['1a', /kebab-case/], ['a b', /kebab-case/], [7, /string/]])('refuses %j', (name, rule) => {
    expect(kebabNameProblem(name)).toMatch(rule);
  });
});

describe('permission', () => {
  it.each(['items.items.read', 'items.items.price.update', 'stock-ledger.purchase-orders.read', 'items.bulk_import.run'])('accepts %j for plugin items/stock-ledger', (permission) => {
    const plugin = permission.startsWith('stock-ledger.') ? 'stock-ledger' : 'items';
    expect(permissionProblem(plugin, permission)).toBeUndefined();
  });
  it.each([
    ['orders.items.read', /namespaced by the plugin id/], ['itemsx.read', /namespaced/], ['items.read', /<resource>\.<action>/],
    ['items.Items.read', /<resource>\.<action>/], ['items.items..read', /<resource>\.<action>/], ['items.items.read.', /<resource>\.<action>/],
    ['items.1x.read', /<resource>\.<action>/], ['items.items.read\0', /<resource>\.<action>/], [`items.${'a'.repeat(120)}.read`, /at most 120/],
    [null, /string/],
  ])('refuses %j for plugin items', (permission, rule) => {
    expect(permissionProblem('items', permission)).toMatch(rule);
  });
});

describe('migration file name', () => {
  it.each([
    ['001_init.sql', { number: 1, description: 'init', down: false }],
    ['001_init.down.sql', { number: 1, description: 'init', down: true }],
    ['010_add_sku.sql', { number: 10, description: 'add_sku', down: false }],
    ['1_x.sql', { number: 1, description: 'x', down: false }],
    ['0002_create_suppliers_v2.sql', { number: 2, description: 'create_suppliers_v2', down: false }],
  ])('reads %j', (file, parts) => {
    expect(parseMigrationFileName(file)).toEqual({ file, ...parts });
  });
  it.each(['init.sql', '001-init.sql', '001_Init.sql', '001_add-sku.sql', '001_.sql', '001_init.SQL', '001_init.sql.bak', '001_init.up.sql', '../001_x.sql', '1234567890_x.sql', '001_a__b.sql'])('refuses %j', (file) => {
    expect(parseMigrationFileName(file)).toBeUndefined();
  });
  it('orders by number, not by text: 010 after 009 and 9', () => {
    const files = ['010_c.sql', '9_b.sql', '002_a.sql'].map((f) => parseMigrationFileName(f)!).sort((a, b) => a.number - b.number);
    expect(files.map((f) => f.file)).toEqual(['002_a.sql', '9_b.sql', '010_c.sql']);
  });
  it('writes names the rule reads back, padded to three digits', () => {
    expect(migrationFileName(3, 'add_sku')).toBe('003_add_sku.sql');
    expect(migrationFileName(3, 'add_sku', { down: true })).toBe('003_add_sku.down.sql');
    expect(migrationFileName(1234, 'x')).toBe('1234_x.sql');
    expect(() => migrationFileName(3, 'Add-Sku')).toThrow(/NNN_description\.sql/);
  });
});

describe('tenant code, schema name and tenant key', () => {
  it.each(['dev', 'acme', 'acme-eu', 'a', 'abcdef', 'a'.repeat(40), 'abcdef01-2345-6789-abcd-ef012345678'])('accepts the code %j', (code) => {
    expect(tenantCodeProblem(code)).toBeUndefined();
  });
  it.each([
    ['abcdef01-2345-6789-abcd-ef0123456789', /look like a uuid/],
    ['abcdef0123456789abcdef0123456789', /look like a uuid/],
    ['abcd-ef01-2345-6789-abcd-ef01-2345-6789', /look like a uuid/],
    ['Acme', /lowercase/], ['1acme', /starting with a letter/], ['acme_eu', /lowercase letters, digits and -/],
    ['', /1–40/], ['a'.repeat(41), /1–40/], ['ac me', /lowercase/], ['acme\0', /lowercase/], ["a'; drop", /lowercase/],
  ])('refuses the code %j', (code, rule) => {
    expect(tenantCodeProblem(code)).toMatch(rule);
  });
  it.each(['tenant_dev', '_t1', 't'.repeat(63)])('accepts the schema %j', (name) => {
    expect(schemaNameProblem(name)).toBeUndefined();
  });
  it.each(['Tenant', 'tenant-dev', 'tenant dev', 'x"; DROP SCHEMA public; --', 'pg_catalog', 'pg_temp_1', 'public', 'information_schema', '1tenant', '', 't'.repeat(64)])('refuses the schema %j', (name) => {
    expect(schemaNameProblem(name)).toBeDefined();
  });
  it.each([
    ['ABCDEF01-2345-6789-ABCD-EF0123456789', { id: 'abcdef01-2345-6789-abcd-ef0123456789' }],
    ['acme', { code: 'acme' }],
    ['abcdef0123456789abcdef0123456789', undefined],
    ['acme\0', undefined],
    ['ACME', undefined],
    ['', undefined],
  ])('reads the tenant key %j', (value, key) => {
    expect(tenantKey(value)).toEqual(key);
  });
});

describe('user email and user key', () => {
  it.each(['admin@sandbox.dev', 'a.b+c@x.y', 'x@localhost'])('accepts %j', (email) => {
    expect(emailProblem(email)).toBeUndefined();
  });
  it.each(['admin', '@x', 'x@', 'a@b@c', 'a b@c', 'a@b\0', `${'a'.repeat(250)}@x.yz`])('refuses %j', (email) => {
    expect(emailProblem(email)).toBeDefined();
  });
  it.each([
    ['Admin@Sandbox.dev', { email: 'admin@sandbox.dev' }],
    ['abcdef01-2345-6789-abcd-ef0123456789', { id: 'abcdef01-2345-6789-abcd-ef0123456789' }],
    ['admin', undefined],
    ['admin@sandbox.dev\0', undefined],
  ])('reads the user key %j', (value, key) => {
    expect(userKey(value)).toEqual(key);
  });
});
