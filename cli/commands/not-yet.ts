/** The commands this kit version does not have yet: each says so, and what to do meanwhile. */
import { CliError } from '../errors.ts';

const MEANWHILE: Record<string, string> = {
  vendor: 'Until then, copy the module folder into the foundation and mount foundation/routes/index.ts.',
};

export function notYet(command: string, kitVersion: string): never {
  throw new CliError(`\`${command}\` is not in this kit version (${kitVersion}) yet. ${MEANWHILE[command]}`, 1);
}
