/**
 * Issue 17: `meta.api` negotiation. A plugin names the contract major it needs (`'1.x'`) or the
 * minor whose additions it uses (`'1.1'`); the host refuses a newer minor than its own, naming
 * both versions, and another major as before: at load (the loader) and in the operator commands,
 * which read meta without running code (static-meta). Hostile values table.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkContractApi, CONTRACT_API, CONTRACT_VERSION, contractApiProblem } from '../sandbox/contract.ts';
import { checkPlugin, loadPlugins } from '../sandbox/plugins/loader.ts';
import { readStaticMeta } from '../sandbox/plugins/static-meta.ts';
import { moduleWithMeta, runPlugins } from './helpers/plugins-fixtures.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const pluginWith = (api: unknown) => ({ default: { meta: { id: 'orders', version: '1.0.0', api }, register() {} } });

describe('the host contract version', () => {
  it('is major 1.x at minor 1.1', () => {
    expect(CONTRACT_API).toBe('1.x');
    expect(CONTRACT_VERSION).toBe('1.1');
  });

  it.each(['1.x', '1.0', '1.1'])('runs a plugin declaring %j', (api) => {
    expect(checkContractApi(api)).toEqual({ ok: true });
    expect(() => checkPlugin(pluginWith(api), undefined, '/modules/orders')).not.toThrow();
  });

  it.each(['1.2', '1.10', '1.999999'])('refuses %j, a minor newer than its own, naming both versions', (api) => {
    expect(checkContractApi(api)).toEqual({ ok: false, reason: 'minor', needs: api });
    expect(() => checkPlugin(pluginWith(api), undefined, '/modules/orders'))
      .toThrow(`Module /modules/orders: plugin "orders" needs contract ${api}; this host implements 1.1.`);
  });

  it.each(['2.x', '2.0', '0.x', '0.9', '3.1'])('refuses %j, another major, as before', (api) => {
    expect(checkContractApi(api)).toEqual({ ok: false, reason: 'major' });
    expect(() => checkPlugin(pluginWith(api), undefined, '/modules/orders'))
      .toThrow(new RegExp(`meta\\.api "${api.replace('.', '\\.')}" of plugin "orders" is not supported: this host implements contract 1\\.x`));
  });

  it.each([
    '1', '1.', '.1', '1.x.0', '1.1.0', 'x', 'x.x', '01.2', '1.01', '1.2-beta', '1.x-beta', '', ' 1.x', '1.x ', '1.X', 'v1.x', '1.-1', '1.1e2',
    '1.0x1', '１.x', '1.x\0', '1.1\n', '1,1', '1.*', '^1.0', '>=1.0', '1.1234567', 'a'.repeat(10_000),
    42, 1.1, 1, null, undefined, true, {}, ['1.x'], { major: 1 }, () => '1.x', Symbol('1.x'), 10n,
  ])('refuses the malformed %s, saying which forms it takes', (api) => {
    expect(checkContractApi(api)).toEqual({ ok: false, reason: 'malformed' });
    const problem = contractApiProblem(api, 'orders')!;
    expect(problem).toMatch(/of plugin "orders" must be "<major>\.x" or "<major>\.<minor>", such as "1\.x" or "1\.1"/);
    expect(problem.length).toBeLessThan(300); // a huge value is cut in the message
    expect(() => checkPlugin(pluginWith(api), undefined, '/modules/orders')).toThrow(/must be "<major>\.x" or "<major>\.<minor>"/);
  });
});

describe('operator commands read the minor without running code', () => {
  const module = (id: string, api: string) => {
    const dir = moduleWithMeta(id, { 'tenant/001_init.sql': `CREATE TABLE ${id}_t (n int);\n` }, { api });
    dirs.push(dir);
    return dir;
  };

  it('accepts 1.x and 1.1, refuses 1.2 naming both versions, and 2.x as before', () => {
    expect(readStaticMeta(module('alpha', '1.x')).api).toBe('1.x');
    expect(readStaticMeta(module('beta', '1.1')).api).toBe('1.1');
    expect(() => readStaticMeta(module('gamma', '1.2'))).toThrow(/plugin "gamma" needs contract 1\.2; this host implements 1\.1\..*Nothing of plugin "gamma" is installed\./s);
    expect(() => readStaticMeta(module('delta', '2.x'))).toThrow(/meta\.api "2\.x" is not supported: this host implements contract 1\.x\. Nothing of plugin "delta" is installed/);
    expect(() => readStaticMeta(module('epsilon', '1.x.0'))).toThrow(/must be "<major>\.x" or "<major>\.<minor>"/);
  });

  it('plugins enable refuses a module needing a newer minor before opening any database (exit 1)', async () => {
    const dir = module('zeta', '1.3');
    const run = await runPlugins(['enable', 'zeta', '--modules', dir, '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
    expect(run.code).toBe(1);
    expect(run.error).toMatch(/plugin "zeta" needs contract 1\.3; this host implements 1\.1/);
  });

  it('the loader refuses it too (a sandbox start, before any database is touched)', async () => {
    const dir = module('eta', '1.4');
    await expect(loadPlugins([dir])).rejects.toThrow(/plugin "eta" needs contract 1\.4; this host implements 1\.1/);
  });
});
