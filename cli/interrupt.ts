/**
 * Ctrl-C during a long operator command: the first one stops taking new work and lets what is in
 * flight finish (so that it is recorded as done), the second quits at once (exit 130).
 */
export interface Interrupt {
  /** Aborted at the first Ctrl-C: hand it to the runner or the batch loop. */
  signal: AbortSignal;
  /** Removes the handler; call it in `finally`. */
  dispose(): void;
}

export function stopOnCtrlC(command: string, inFlight: string): Interrupt {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    console.error(`foundation-module ${command}: stopping after the ${inFlight} in flight (Ctrl-C again to quit at once)…`);
  };
  process.on('SIGINT', stop);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', stop) };
}
