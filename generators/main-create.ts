/** Entry of the `create-foundation-module` bin: runs the flow, turns the author's mistakes into one line and exit 1. */
import { CreateError, runCreate } from './create.ts';
import { GenerateError } from './changes.ts';
import { NameError } from './names.ts';

runCreate(process.argv.slice(2), { cwd: process.cwd(), interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY), log: (text) => console.log(text) }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CreateError || error instanceof NameError || error instanceof GenerateError) {
      console.error(`create-foundation-module: ${error.message}`);
    } else if ((error as Error).name === 'ExitPromptError') {
      console.error('create-foundation-module: cancelled, nothing written.');
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  },
);
