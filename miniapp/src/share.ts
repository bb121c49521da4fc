// The shared view (docs/api.md, "Share tokens"): a share link is
// `https://<host>/s#shr_...`. The gateway serves this app at /s; the page takes the
// token from the fragment (which never reaches a server), exchanges it for a short
// read-only access token for one channel, and never signs in with Telegram.
//
// The fragment is replaced by the dashboard's route once read, so the secret leaves
// the address bar; it is kept in sessionStorage (this tab only) so that a reload or a
// re-exchange after expiry still has it.

const STORAGE_KEY = "ab.share-token";
const TOKEN = /^shr_[A-Za-z0-9_-]{1,60}$/;

/** Whether this page is the shared view (served at /s). */
export function isSharedView(): boolean {
  return /^\/s\/?$/.test(location.pathname);
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

let token: string | null = null;

/** The share token of this page: a fresh one in the fragment wins over the stored one. */
export function shareToken(): string | null {
  if (!isSharedView()) return null;
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (TOKEN.test(fromHash)) {
    token = fromHash;
    try {
      sessionStorage.setItem(STORAGE_KEY, fromHash);
    } catch {
      // Private mode without storage: a reload will need the link again.
    }
  }
  token ??= stored();
  return token;
}

const DEAD_CODES = new Set(["SHARE_LINK_REVOKED", "SHARE_LINK_EXPIRED", "SHARE_LINK_UNKNOWN"]);

/** A code saying the share link itself can no longer be used. */
export function isDeadLinkCode(code: string): boolean {
  return DEAD_CODES.has(code);
}

let shared: { channelId: number; title: string; username: string; linkExpiresAt: string } | null = null;
const listeners = new Set<() => void>();

export function setSharedChannel(value: typeof shared): void {
  shared = value;
  for (const listener of listeners) listener();
}

/** The channel the share link opens (known after the first exchange). */
export function sharedChannel(): typeof shared {
  return shared;
}

let deadCode: string | null = null;

/** Records that the link died (any request answered SHARE_LINK_*); the app then shows only that. */
export function markLinkDead(code: string): void {
  if (deadCode === code) return;
  deadCode = code;
  for (const listener of listeners) listener();
}

export function deadLinkCode(): string | null {
  return deadCode;
}

export function onShareChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
