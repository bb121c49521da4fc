// Secondary screens load on first use (dynamic import), so the first screen's
// JavaScript stays small. Each module is fetched once and kept.

import type { ComponentChildren, FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorState, Skeleton } from "./components/states";

type Loader<P> = () => Promise<FunctionComponent<P>>;

const loaded = new Map<Loader<never>, FunctionComponent<never>>();

/** Renders the component `load` resolves to, with a skeleton while it downloads. */
export function Lazy<P extends object>({ load, props }: { load: Loader<P>; props: P }): ComponentChildren {
  const [component, setComponent] = useState<FunctionComponent<P> | null>(
    () => (loaded.get(load as Loader<never>) as FunctionComponent<P> | undefined) ?? null,
  );
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const cached = loaded.get(load as Loader<never>) as FunctionComponent<P> | undefined;
    if (cached) {
      setComponent(() => cached);
      return undefined;
    }
    let live = true;
    setError(null);
    load().then(
      (loadedComponent) => {
        loaded.set(load as Loader<never>, loadedComponent as FunctionComponent<never>);
        if (live) setComponent(() => loadedComponent);
      },
      (failure: unknown) => {
        if (live) setError(failure);
      },
    );
    return () => {
      live = false;
    };
  }, [load, attempt]);
  if (error) {
    return (
      <main class="screen">
        <ErrorState error={error} onRetry={() => setAttempt((n) => n + 1)} />
      </main>
    );
  }
  if (!component) {
    return (
      <main class="screen" data-testid="screen-loading">
        <div class="skeleton skeleton-title" />
        <Skeleton rows={3} kind="card" />
      </main>
    );
  }
  const Component = component;
  return <Component {...props} />;
}
