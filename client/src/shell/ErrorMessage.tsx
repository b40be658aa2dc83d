import { describeError } from '../api.ts';

/** One readable line for an error, with an optional way to try again. */
export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="shell-error" role="alert">
      <span>{describeError(error)}</span>
      {onRetry && <button type="button" onClick={onRetry}>Retry</button>}
    </div>
  );
}
