import { Component, type ReactNode } from 'react';
import { ErrorMessage } from './ErrorMessage.tsx';

interface Props { moduleId: string; children: ReactNode }
interface State { error: unknown }

/** A page that throws (or whose chunk fails to load) breaks itself, not the whole shell. */
export class PageErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <ErrorMessage
        error={`A page of module "${this.props.moduleId}" failed: ${errorText(this.state.error)}`}
        onRetry={() => this.setState({ error: null })}
      />
    );
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
