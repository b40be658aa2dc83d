/**
 * This module's plugin id, as `meta.id` in plugin/index.ts: the manifest and the API client both
 * read it from here. Kept apart from module.config.ts, which imports the server side.
 */
export const pluginId = 'items';
