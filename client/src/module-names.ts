/**
 * Display names of the loaded modules (module.config.ts `name`), from `GET /api/sandbox/modules`.
 * Manifests carry only the id, and the name lives with the server config, so the shell asks the
 * API. Names are cosmetic: when the call fails or a module is missing, the id stands in.
 */
import { useEffect, useState } from 'react';
import { apiJson, createApiFetch } from './api.ts';
import type { Identities } from './identity.ts';

/** Module id → display name; empty until (or unless) the API answered. */
export type ModuleNames = ReadonlyMap<string, string>;

/** `GET /api/sandbox/modules` */
interface ModulesAnswer { modules?: unknown }

/** Keeps only well-formed entries: one odd entry must not cost the other modules their names. */
function namesOf(answer: ModulesAnswer): ModuleNames {
  const names = new Map<string, string>();
  for (const entry of Array.isArray(answer.modules) ? answer.modules : []) {
    const { id, name } = (entry ?? {}) as { id?: unknown; name?: unknown };
    if (typeof id === 'string' && typeof name === 'string' && name.trim() !== '') names.set(id, name.trim());
  }
  return names;
}

/** What to show for module `id`: its name when known, else the id itself — never a blank. */
export function displayName(names: ModuleNames, id: string): string {
  return names.get(id) ?? id;
}

/**
 * Asks once `identities` (the session's) have loaded, and again each time they load anew: an API
 * that came up after the shell (the Retry button) then brings the names as well.
 */
export function useModuleNames(identities: Identities | null): ModuleNames {
  const [names, setNames] = useState<ModuleNames>(() => new Map());
  useEffect(() => {
    if (!identities) return;
    let current = true;
    apiJson<ModulesAnswer>(createApiFetch(null), '/api/sandbox/modules').then(
      (answer) => { if (current) setNames(namesOf(answer ?? {})); },
      // The identities call reports an unreachable API; a second banner for names would be noise.
      (error: unknown) => console.warn('Module names unavailable, showing ids:', error),
    );
    return () => { current = false; };
  }, [identities]);
  return names;
}
