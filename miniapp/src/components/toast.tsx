// One short message at the bottom of the screen (export done, alert saved).

import { useEffect, useState } from "preact/hooks";

type Listener = (message: Toast | null) => void;
interface Toast {
  id: number;
  text: string;
  tone: "info" | "error";
}

const listeners = new Set<Listener>();
let nextId = 0;

export function showToast(text: string, tone: Toast["tone"] = "info"): void {
  const toast = { id: ++nextId, text, tone };
  for (const listener of listeners) listener(toast);
}

export function Toasts() {
  const [toast, setToast] = useState<Toast | null>(null);
  useEffect(() => {
    listeners.add(setToast);
    return () => {
      listeners.delete(setToast);
    };
  }, []);
  useEffect(() => {
    if (!toast) return undefined;
    const timer = window.setTimeout(() => setToast(null), 3500);
    return () => window.clearTimeout(timer);
  }, [toast]);
  if (!toast) return null;
  return (
    <div class={`toast toast-${toast.tone}`} role="status" data-testid="toast">
      {toast.text}
    </div>
  );
}
