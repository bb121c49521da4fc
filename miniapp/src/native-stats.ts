// Reading Telegram's native statistics payloads (stats.broadcastStats as the collector
// stores them: absolute values with the previous period, percent values, and graphs
// in Telegram's chart JSON: {columns: [["x", ...], ["y0", ...]], names, types}).

export interface AbsValue {
  current: number;
  previous: number;
}

export interface Graph {
  x: number[];
  series: { id: string; name: string; values: (number | null)[] }[];
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function number(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `{current, previous}` at `key`, or null when Telegram did not report it. */
export function absValue(payload: Record<string, unknown>, key: string): AbsValue | null {
  const value = record(payload[key]);
  const current = number(value?.["current"]);
  const previous = number(value?.["previous"]);
  return current === null || previous === null ? null : { current, previous };
}

/** A `{part, total}` value as percent, or null when missing or the total is 0. */
export function percentValue(payload: Record<string, unknown>, key: string): number | null {
  const value = record(payload[key]);
  const part = number(value?.["part"]);
  const total = number(value?.["total"]);
  return part === null || total === null || total === 0 ? null : (part / total) * 100;
}

function chartJson(graph: Record<string, unknown>): Record<string, unknown> | null {
  const json = record(graph["json"]);
  if (!json) return null;
  if (Array.isArray(json["columns"])) return json;
  // Telethon's to_dict keeps DataJSON as a string in `data`.
  if (typeof json["data"] === "string") {
    try {
      return record(JSON.parse(json["data"]));
    } catch {
      return null;
    }
  }
  return null;
}

/** The graph at `key` as numbers, or null when absent, not loaded or unreadable. */
export function graph(payload: Record<string, unknown>, key: string): Graph | null {
  const raw = record(payload[key]);
  const json = raw ? chartJson(raw) : null;
  if (!json) return null;
  const names = record(json["names"]) ?? {};
  const columns = (json["columns"] as unknown[]).filter(Array.isArray) as unknown[][];
  const xColumn = columns.find((column) => column[0] === "x");
  if (!xColumn) return null;
  const x = xColumn.slice(1).map((value) => number(value) ?? 0);
  const series = columns
    .filter((column) => column !== xColumn && typeof column[0] === "string")
    .map((column) => {
      const id = String(column[0]);
      const name = typeof names[id] === "string" ? (names[id] as string) : id;
      return { id, name, values: column.slice(1).map(number) };
    });
  return series.length > 0 && x.length > 0 ? { x, series } : null;
}

/** Each series' total over the graph's period, largest first (for "by source" graphs). */
export function totals(g: Graph): { name: string; total: number }[] {
  return g.series
    .map((s) => ({ name: s.name, total: s.values.reduce<number>((sum, v) => sum + (v ?? 0), 0) }))
    .sort((a, b) => b.total - a.total);
}
