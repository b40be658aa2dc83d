/** `foundation-module tenants create|list|drop`: not built yet (issue 16). */
import { notYet } from './not-yet.ts';

export async function tenantsCommand(_argv: string[], kitVersion: string): Promise<number> {
  return notYet('tenants', kitVersion);
}
