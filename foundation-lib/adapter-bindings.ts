/**
 * `create-foundation-module/foundation/bindings`, as a module's adapter (foundation/routes/index.ts)
 * sees it: the foundation's bindings, by type only. In a foundation, `vendor` points that import
 * at the foundation's own bindings file (src/lib/foundation-module/bindings.ts); in the module the
 * adapter is type-checked, never run.
 */
import type { FoundationBindings } from './plugin-router.ts';

declare const bindings: FoundationBindings;
export default bindings;
