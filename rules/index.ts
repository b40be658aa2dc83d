/**
 * Every naming rule of the kit, each written once: the sandbox, the generators, the CLI and the
 * shell import them from here. No Node.js APIs, so the browser shell can import them too.
 */
export * from './host-permission.ts';
export * from './config-key.ts';
export * from './event-name.ts';
export * from './kebab-name.ts';
export * from './migration-file.ts';
export * from './permission.ts';
export * from './plugin-id.ts';
export * from './tenant.ts';
export * from './user.ts';
