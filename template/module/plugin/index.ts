import type { FoundationPlugin } from 'create-foundation-module/contract';

/** Every permission this module checks: the one list module.config.ts and the host read. */
export const permissions: string[] = [
];

const plugin: FoundationPlugin = {
  meta: { id: '{{id}}', version: '0.1.0', api: '1.x' },

  async register(ctx) {
  },
};

export default plugin;
