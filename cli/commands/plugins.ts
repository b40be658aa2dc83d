/** `foundation-module plugins list|enable|disable|uninstall`: not built yet (issue 16). */
import { notYet } from './not-yet.ts';

export async function pluginsCommand(_argv: string[], kitVersion: string): Promise<number> {
  return notYet('plugins', kitVersion);
}
