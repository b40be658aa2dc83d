/**
 * The contract as the sandbox implements it: the types of contract/index.ts (the types-only entry
 * `create-foundation-module/contract` that modules import), and the version this host implements.
 */
export type * from '../contract/index.ts';

/** The contract major this host implements; a plugin whose `meta.api` major differs is refused. */
export const CONTRACT_API = '1.x';
