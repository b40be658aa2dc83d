/**
 * This module's plugin id, as `meta.id` in plugin/index.ts. The manifest and the API client read
 * it from here, so client code never imports the server side.
 */
export const pluginId = 'warehouse';
