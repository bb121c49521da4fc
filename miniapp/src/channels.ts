// The caller's channels (with the caller's role on each), fetched once per session and
// shared by the list and the screens that adapt to the role.

import { listChannels } from "./api";
import type { Channel, ChannelRole } from "./api-types";

let cached: Promise<Channel[]> | null = null;

export function myChannels(signal?: AbortSignal): Promise<Channel[]> {
  if (!cached) {
    const pending = listChannels();
    cached = pending;
    pending.catch(() => {
      if (cached === pending) cached = null;
    });
  }
  const shared = cached;
  if (!signal) return shared;
  return new Promise((resolve, reject) => {
    signal.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")), { once: true });
    shared.then(resolve, reject);
  });
}

/** Forgets the list so the next call asks the server again (pull to refresh, retry). */
export function refreshChannels(): void {
  cached = null;
}

const RANK: Readonly<Record<string, number>> = { viewer: 1, analyst: 2, admin: 3, owner: 4 };

/** Whether `role` is at least `minimum` (viewer < analyst < admin < owner). */
export function roleAtLeast(role: ChannelRole | null, minimum: "viewer" | "analyst" | "admin" | "owner"): boolean {
  return (RANK[role ?? ""] ?? 0) >= (RANK[minimum] ?? 0);
}
