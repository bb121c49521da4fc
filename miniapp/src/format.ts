// Number, date and time formatting in the interface language.

import { locale } from "./i18n";

/** Whole numbers with thousands separators: 12,345. */
export function formatCount(value: number): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(value);
}

/** Signed whole numbers: +123, −45, 0. */
export function formatSignedCount(value: number): string {
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: 0,
    signDisplay: "exceptZero",
  }).format(value);
}

/** Per-post averages with one decimal: 1,234.5. */
export function formatAverage(value: number): string {
  return new Intl.NumberFormat(locale(), {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(value);
}

/** A percentage given in percent units (12.34 → "12.3%"), without a sign. */
export function formatPercent(value: number): string {
  return new Intl.NumberFormat(locale(), {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(value / 100);
}

/** A ratio with two decimals: 0.04, 2.61. */
export function formatRatio(value: number): string {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}

/** Large counts in short form for axes: 12K, 1.2M. */
export function formatCompact(value: number): string {
  return new Intl.NumberFormat(locale(), { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

/** "25 Nov" */
export function formatDay(instant: Date): string {
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short" }).format(instant);
}

/** "25 Nov, 14:05" */
export function formatDateTime(instant: Date): string {
  return new Intl.DateTimeFormat(locale(), {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  }).format(instant);
}

/** Relative change from `previous` to `current` in percent; null when undefined. */
export function percentChange(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null || previous === 0) return null;
  return ((current - previous) / previous) * 100;
}

/** "2 minutes ago", "yesterday"... for an instant relative to `now`. */
export function formatAgo(instant: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - instant.getTime()) / 1000));
  const format = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  if (seconds < 45) return format.format(0, "second");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return format.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return format.format(-hours, "hour");
  return format.format(-Math.round(hours / 24), "day");
}

/** "18 – 25 Nov" for the period [start, end): the end instant itself is excluded. */
export function formatPeriod(start: string, end: string): string {
  const format = new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short" });
  const last = new Date(Date.parse(end) - 1);
  return format.formatRange(new Date(start), last);
}
