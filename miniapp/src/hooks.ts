import { useEffect, useRef, useState } from "preact/hooks";
import { isAbortError } from "./api";

export type AsyncState<T> =
  | { status: "loading"; data: T | null }
  | { status: "ready"; data: T }
  | { status: "error"; error: unknown; data: T | null };

/**
 * Runs `load` whenever `deps` change or `reload` is called, aborting the previous
 * run. While reloading, the last data stays available so the screen does not jump.
 * `replace` sets the data directly (a live update).
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): [AsyncState<T>, () => void, (data: T) => void] {
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

  return [state, () => setAttempt((n) => n + 1), (data: T) => setState({ status: "ready", data })];
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

/** A value that survives re-renders without causing them, always the latest. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

/**
 * `value`, updated at most once per `intervalMs` (the latest value wins), except that
 * a change of `immediateKey` passes at once. Live updates can arrive many times a
 * second; what they trigger (a chart refetch) should not.
 */
export function useThrottled<T>(value: T, intervalMs: number, immediateKey: unknown): T {
  const [shown, setShown] = useState(value);
  const latest = useLatest(value);
  const lastKey = useRef(immediateKey);
  const lastSet = useRef(0);
  const timer = useRef(0);
  useEffect(() => {
    if (lastKey.current !== immediateKey) {
      lastKey.current = immediateKey;
      window.clearTimeout(timer.current);
      timer.current = 0;
      lastSet.current = Date.now();
      setShown(value);
      return;
    }
    if (timer.current) return;
    const wait = Math.max(0, intervalMs - (Date.now() - lastSet.current));
    timer.current = window.setTimeout(() => {
      timer.current = 0;
      lastSet.current = Date.now();
      setShown(latest.current);
    }, wait);
  }, [value, immediateKey]);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return shown;
}
