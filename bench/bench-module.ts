/** The module the migration and provisioning benches install: id `bench`, one tenant migration, in a fresh temporary folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function benchModule(prefix: string, tenantMigration: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, 'plugin'));
  fs.writeFileSync(path.join(dir, 'plugin', 'index.ts'), "export default { meta: { id: 'bench', version: '1.0.0', api: '1.x' }, async register() {} };\n");
  fs.mkdirSync(path.join(dir, 'migrations', 'tenant'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'migrations', 'tenant', '001_init.sql'), tenantMigration);
  return dir;
}
