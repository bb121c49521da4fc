// Small preferences (the chosen period, the interface language) in Telegram's
// CloudStorage, so they follow the user across devices; in an ordinary browser, or a
// client older than 6.9, in localStorage.

import { cloudStorage } from "./telegram";

export type PrefKey = "period" | "language";

const LOCAL_PREFIX = "analyticbot.";

function readLocal(key: PrefKey): string | null {
  try {
    return window.localStorage.getItem(LOCAL_PREFIX + key);
  } catch {
    // Storage can be disabled (private mode, blocked cookies): no preference then.
    return null;
  }
}

function writeLocal(key: PrefKey, value: string): void {
  try {
    window.localStorage.setItem(LOCAL_PREFIX + key, value);
  } catch {
    // Same as above: the choice then lasts for this session only.
  }
}

/** The stored value of `key`, or null when none was stored (or storage fails). */
export function readPref(key: PrefKey): Promise<string | null> {
  const cloud = cloudStorage();
  if (!cloud) return Promise.resolve(readLocal(key));
  return new Promise((resolve) => {
    cloud.getItem(key, (error, value) => resolve(error || !value ? readLocal(key) : value));
  });
}

/** Stores `value` for `key`; the local copy makes the next read instant. */
export function writePref(key: PrefKey, value: string): void {
  writeLocal(key, value);
  cloudStorage()?.setItem(key, value);
}

export type Days = 7 | 30;

let days: Days = 7;

/** The dashboard's period, as last chosen (7 days until preferences are loaded). */
export function periodDays(): Days {
  return days;
}

export function setPeriodDays(next: Days): void {
  days = next;
  writePref("period", String(next));
}

/** Reads the stored preferences once at start; returns the chosen language, if any. */
export async function loadPrefs(): Promise<{ language: string | null }> {
  const [period, language] = await Promise.all([readPref("period"), readPref("language")]);
  if (period === "7" || period === "30") days = Number(period) as Days;
  return { language };
}
