/**
 * The contract as the sandbox implements it: the types of contract/index.ts (the types-only entry
 * `create-foundation-module/contract` that modules import), the version this host implements, and
 * the one reading of a plugin's `meta.api` that the loader and the operator commands share.
 */
export type * from '../contract/index.ts';

/** The contract major this host implements; a plugin whose `meta.api` major differs is refused. */
export const CONTRACT_API = '1.x';

/**
 * The newest minor of the contract this host implements (docs/contract.md keeps the changelog).
 * A plugin declaring `api: '1.<n>'` with n above it needs what this host lacks, and is refused.
 */
export const CONTRACT_VERSION = '1.1';

/**
 * `<major>.x` or `<major>.<minor>`, decimal without leading zeros: anything else (`1`, `1.x.0`,
 * `01.2`, `1.2-beta`) is a typo a host must not guess at.
 */
const API_FORM = /^(0|[1-9]\d{0,5})\.(x|0|[1-9]\d{0,5})$/;

export type ContractApiAnswer =
  | { ok: true }
  | { ok: false; reason: 'malformed' }
  | { ok: false; reason: 'major' }
  /** The plugin needs minor `needs` of this major, newer than `CONTRACT_VERSION`. */
  | { ok: false; reason: 'minor'; needs: string };

/** Whether this host can run a plugin whose `meta.api` is `api`, and why not. */
export function checkContractApi(api: unknown): ContractApiAnswer {
  const parts = typeof api === 'string' ? API_FORM.exec(api) : null;
  if (!parts) return { ok: false, reason: 'malformed' };
  const [hostMajor, hostMinor] = CONTRACT_VERSION.split('.').map(Number) as [number, number];
  if (Number(parts[1]) !== hostMajor) return { ok: false, reason: 'major' };
  if (parts[2] !== 'x' && Number(parts[2]) > hostMinor) return { ok: false, reason: 'minor', needs: api as string };
  return { ok: true };
}

/** The problem with `meta.api` of plugin `pluginId`, worded for a message, or undefined when this host runs it. */
export function contractApiProblem(api: unknown, pluginId: string): string | undefined {
  const answer = checkContractApi(api);
  if (answer.ok) return undefined;
  if (answer.reason === 'malformed') {
    return `meta.api ${quote(api)} of plugin "${pluginId}" must be "<major>.x" or "<major>.<minor>", such as "${CONTRACT_API}" or "${CONTRACT_VERSION}"`;
  }
  if (answer.reason === 'major') {
    return `meta.api "${api}" of plugin "${pluginId}" is not supported: this host implements contract ${CONTRACT_API}. ` +
      `Port the plugin to ${CONTRACT_API}, or run it on a host of contract ${(api as string).split('.')[0]}.x`;
  }
  return `plugin "${pluginId}" needs contract ${answer.needs}; this host implements ${CONTRACT_VERSION}. Run it on a newer host (update the kit), or lower meta.api if the plugin does without what ${answer.needs} added`;
}

/** A value for a message: a string quoted (and cut when long), anything else by its type. */
function quote(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : Array.isArray(value) ? '(an array)' : `(a ${typeof value})`;
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}
