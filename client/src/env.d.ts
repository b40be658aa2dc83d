/** Values client/vite.config.ts puts into `import.meta.env` (see its `define`). */
interface ImportMetaEnv {
  /** Where the dev proxy sends `/api`: named in "API not reachable" messages. */
  readonly FOUNDATION_API_URL: string;
}
