import { useEffect, useState } from "preact/hooks";
import { isAbortError } from "./api";

export type AsyncState<T> =
  | { status: "loading"; data: T | null }
  | { status: "ready"; data: T }
  | { status: "error"; error: unknown; data: T | null };

/**
 * Runs `load` whenever `deps` change or `reload` is called, aborting the previous
 * run. While reloading, the last data stays available so the screen does not jump.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): [AsyncState<T>, () => void] {
  const [state, setState] = useState<AsyncState<T>>({ status: "loading", data: null });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ status: "loading", data: previous.data }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: "ready", data });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbortError(error)) return;
        setState((previous) => ({ status: "error", error, data: previous.data }));
      },
    );
    return () => controller.abort();
    // `load` is recreated on every render; `deps` say when it really changes.
  }, [...deps, attempt]);

  return [state, () => setAttempt((n) => n + 1)];
}

/** The current time, refreshed every `intervalMs` (for "updated 2 minutes ago"). */
export function useNow(intervalMs: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}
