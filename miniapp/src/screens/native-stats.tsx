import { listNativeStats } from "../api";
import type { NativeStatsEntry } from "../api-types";
import { BarList } from "../charts/bar-list";
import { LineChart } from "../charts/line-chart";
import { BackLink } from "../components/back-link";
import { Trend } from "../components/metric";
import { ErrorState, Skeleton } from "../components/states";
import { formatCompact, formatCount, formatDateTime, formatDay, formatPercent, formatPeriod, percentChange } from "../format";
import { useAsync } from "../hooks";
import { t, type MessageKey } from "../i18n";
import { absValue, graph, percentValue, totals, type Graph } from "../native-stats";

const ABS: readonly { key: string; label: MessageKey }[] = [
  { key: "followers", label: "native.followers" },
  { key: "views_per_post", label: "native.viewsPerPost" },
  { key: "shares_per_post", label: "native.sharesPerPost" },
  { key: "reactions_per_post", label: "native.reactionsPerPost" },
];
const LINE_GRAPHS = ["growth_graph", "followers_graph", "mute_graph", "interactions_graph", "top_hours_graph"] as const;
const SHARE_GRAPHS = [
  "views_by_source_graph",
  "new_followers_by_source_graph",
  "languages_graph",
  "reactions_by_emotion_graph",
] as const;
type GraphKey = (typeof LINE_GRAPHS)[number] | (typeof SHARE_GRAPHS)[number];

function graphTitle(key: GraphKey): string {
  return t(`native.graph.${key}`);
}

function formatX(g: Graph): (x: number) => string {
  // Telegram's time axes are in milliseconds; the hour-of-day graph counts hours.
  const isTime = (g.x[0] ?? 0) > 1e11;
  return isTime ? (x) => formatDay(new Date(x)) : (x) => `${String(Math.round(x)).padStart(2, "0")}:00`;
}

function LineGraph({ id, g }: { id: GraphKey; g: Graph }) {
  const points = (values: (number | null)[]) => g.x.map((x, index) => ({ x, y: values[index] ?? null }));
  const first = g.series[0];
  const known = first ? first.values.filter((v): v is number => v !== null) : [];
  return (
    <section class="card" data-testid={`native-${id}`} aria-labelledby={`label-${id}`}>
      <h3 class="card-label" id={`label-${id}`}>
        {graphTitle(id)}
      </h3>
      <LineChart
        series={g.series.map((s, index) => ({ key: s.id, label: s.name, points: points(s.values), dashed: index > 0 }))}
        title={graphTitle(id)}
        summary={
          known.length
            ? t("chart.summary", {
                first: formatCount(known[0] ?? 0),
                last: formatCount(known[known.length - 1] ?? 0),
                min: formatCount(Math.min(...known)),
                max: formatCount(Math.max(...known)),
              })
            : ""
        }
        formatX={formatX(g)}
        formatY={formatCompact}
        height={140}
      />
    </section>
  );
}

function ShareGraph({ id, g }: { id: GraphKey; g: Graph }) {
  const rows = totals(g);
  const sum = rows.reduce((total, row) => total + row.total, 0);
  return (
    <section class="card" data-testid={`native-${id}`} aria-labelledby={`label-${id}`}>
      <h3 class="card-label" id={`label-${id}`}>
        {graphTitle(id)}
      </h3>
      <BarList
        label={graphTitle(id)}
        bars={rows.map((row) => ({
          key: row.name,
          label: row.name,
          value: row.total,
          display: sum > 0 ? `${formatCount(row.total)} · ${formatPercent((row.total / sum) * 100)}` : formatCount(row.total),
        }))}
      />
    </section>
  );
}

function Latest({ entry }: { entry: NativeStatsEntry }) {
  const [from, to] = entry.period.split("/");
  const notifications = percentValue(entry.payload, "enabled_notifications");
  const values = ABS.map((item) => ({ ...item, value: absValue(entry.payload, item.key) })).filter((item) => item.value !== null);
  return (
    <section class="card" data-testid="native-latest">
      <p class="card-line card-line-label">
        {t("native.collected", { date: formatDateTime(new Date(entry.collected_at)) })}
        {from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))
          ? ` · ${t("native.window", { period: formatPeriod(from, to) })}`
          : ""}
      </p>
      <div class="stat-grid">
        {values.map((item) => {
          const value = item.value ?? { current: 0, previous: 0 };
          const change = percentChange(value.current, value.previous);
          return (
            <div key={item.key} class="stat" data-testid={`native-${item.key}`} data-value={String(value.current)}>
              <span class="stat-label">{t(item.label)}</span>
              <span class="value">{formatCount(value.current)}</span>
              {change !== null && <Trend percent={change} testId={`native-change-${item.key}`} />}
            </div>
          );
        })}
        {notifications !== null && (
          <div class="stat" data-testid="native-notifications" data-value={String(notifications)}>
            <span class="stat-label">{t("native.notifications")}</span>
            <span class="value">{formatPercent(notifications)}</span>
            <span class="stat-help">{t("native.notifications.help")}</span>
          </div>
        )}
      </div>
    </section>
  );
}

function History({ entries }: { entries: NativeStatsEntry[] }) {
  const points = entries
    .map((entry) => ({ x: Date.parse(entry.collected_at), y: absValue(entry.payload, "followers")?.current ?? null }))
    .filter((point) => point.y !== null)
    .sort((a, b) => a.x - b.x);
  if (points.length < 2) return null;
  return (
    <section class="card" data-testid="native-history" aria-labelledby="label-native-history">
      <h3 class="card-label" id="label-native-history">
        {t("native.history")}
      </h3>
      <LineChart
        series={[{ key: "followers", label: t("native.followers"), points }]}
        title={t("native.history")}
        summary={t("chart.summary", {
          first: formatCount(points[0]?.y ?? 0),
          last: formatCount(points[points.length - 1]?.y ?? 0),
          min: formatCount(Math.min(...points.map((p) => p.y ?? 0))),
          max: formatCount(Math.max(...points.map((p) => p.y ?? 0))),
        })}
        formatX={(x) => formatDay(new Date(x))}
        formatPointX={(x) => formatDateTime(new Date(x))}
        formatY={formatCompact}
        area
        height={140}
      />
    </section>
  );
}

function NativeView({ entries }: { entries: NativeStatsEntry[] }) {
  const latest = entries[0];
  if (!latest) {
    return (
      <div class="state" data-testid="native-empty">
        <div class="state-icon state-icon-info" aria-hidden="true">
          ◔
        </div>
        <h2 class="state-title">{t("native.emptyTitle")}</h2>
        <p class="state-text">{t("native.emptyText")}</p>
      </div>
    );
  }
  const lines = LINE_GRAPHS.map((key) => ({ key, g: graph(latest.payload, key) }));
  const shares = SHARE_GRAPHS.map((key) => ({ key, g: graph(latest.payload, key) }));
  const missing = [...lines, ...shares].filter((item) => item.g === null).map((item) => graphTitle(item.key));
  return (
    <>
      <Latest entry={latest} />
      <History entries={entries} />
      {lines.map((item) => item.g && <LineGraph key={item.key} id={item.key} g={item.g} />)}
      {shares.map((item) => item.g && <ShareGraph key={item.key} id={item.key} g={item.g} />)}
      {missing.length > 0 && (
        <p class="footnote" data-testid="native-missing">
          {t("native.missing", { list: missing.join(", ") })}
        </p>
      )}
    </>
  );
}

export function NativeStatsScreen({ channelId }: { channelId: number }) {
  const [state, reload] = useAsync((signal) => listNativeStats(channelId, signal), [channelId]);
  return (
    <main class="screen" data-testid="screen-native" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("native.title")}</h1>
      <div class="cards">
        {state.status === "error" ? (
          <ErrorState error={state.error} onRetry={reload} />
        ) : state.data === null ? (
          <Skeleton rows={2} kind="card" />
        ) : (
          <NativeView entries={state.data} />
        )}
      </div>
    </main>
  );
}
