import { LONG_WAIT_MS, type ApiWait } from '../api-wait.ts';

/**
 * Shown while the API does not answer: the shell keeps trying by itself, so there is nothing to
 * click. After a long wait it also says what may be wrong.
 */
export function ApiStarting({ wait, onRetry }: { wait: ApiWait; onRetry: () => void }) {
  const seconds = Math.max(1, Math.round(wait.nextInMs / 1000));
  const long = Date.now() - wait.since >= LONG_WAIT_MS;
  return (
    <div className="shell-notice" role="status">
      <span>
        {long
          ? `The API at ${import.meta.env.FOUNDATION_API_URL} has not answered for ${Math.round((Date.now() - wait.since) / 1000)} s: is \`npm run dev\` running? `
          : 'The API is starting… '}
        Trying again every {seconds} s.
      </span>
      {long && <button type="button" onClick={onRetry}>Retry now</button>}
    </div>
  );
}
