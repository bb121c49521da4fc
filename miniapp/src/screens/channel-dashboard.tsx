import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import { getOverview, getSubscribers, type Period } from "../api";
import type { ChannelOverview, PeriodStats } from "../api-types";
import { BackLink } from "../components/back-link";
import { LiveIndicator } from "../components/live-indicator";
import { MainAction } from "../components/main-action";
import { asMetric, MetricCard, MetricValue, Trend } from "../components/metric";
import { NavList, type NavItem } from "../components/nav-list";
import { ErrorState, Skeleton } from "../components/states";
import { SubscriberChart } from "../components/subscriber-chart";
import { SubscribersCard } from "../components/subscribers-card";
import { myChannels, roleAtLeast } from "../channels";
import { exportPosts } from "../export";
import { formatAgo, formatPeriod, percentChange } from "../format";
import { useAsync, useNow, useThrottled } from "../hooks";
import { t } from "../i18n";
import { useLiveOverview } from "../live";
import { navigate } from "../router";
import { isSharedView } from "../share";
import { periodDays as storedPeriodDays, setPeriodDays, type Days } from "../prefs";
import { hapticSelection } from "../telegram";

const DAY_MS = 86_400_000;

function PeriodSelector({ days, onChange }: { days: Days; onChange: (days: Days) => void }) {
  const options: readonly Days[] = [7, 30];
  return (
    <div class="segmented" role="radiogroup" aria-label={t("period.label")}>
      {options.map((option) => (
        <button
          key={option}
          type="button"
          role="radio"
          aria-checked={option === days}
          class={option === days ? "segment segment-active" : "segment"}
          data-testid={`period-${option}`}
          onClick={() => onChange(option)}
        >
          {t(option === 7 ? "period.days7" : "period.days30")}
        </button>
      ))}
    </div>
  );
}

function Freshness({ dataAsOf }: { dataAsOf: string | null }) {
  const now = useNow(30_000);
  return (
    <span data-testid="data-as-of" data-value={dataAsOf ?? undefined}>
      {dataAsOf === null
        ? t("freshness.never")
        : t("freshness.updated", { time: formatAgo(new Date(dataAsOf), now) })}
    </span>
  );
}

type ReachField = "reach_12h" | "reach_24h" | "reach_48h";

/** Reach at 12, 24 and 48 hours side by side, each with its change. */
function ReachCard({ current, previous }: { current: PeriodStats; previous: PeriodStats }) {
  const fields: readonly ReachField[] = ["reach_12h", "reach_24h", "reach_48h"];
  return (
    <section class="card" data-testid="card-reach" aria-labelledby="label-reach">
      <h3 class="card-label" id="label-reach">
        {t("dash.reach")}
      </h3>
      <div class="reach-grid">
        {fields.map((field) => {
          const change = percentChange(current[field].value, previous[field].value);
          return (
            <div key={field} class="reach-cell">
              <span class="reach-label">{t(`metric.${field}`)}</span>
              <MetricValue metric={current[field]} kind="count" testId={`metric-${field}`} />
              <span class="reach-previous">
                <MetricValue metric={previous[field]} kind="count" testId={`previous-${field}`} />
              </span>
              {change !== null && <Trend percent={change} testId={`change-${field}`} />}
            </div>
          );
        })}
      </div>
      <p class="card-line card-line-label">{t("dash.reach.previous")}</p>
      <p class="card-help">{t("metric.reach.help")}</p>
    </section>
  );
}

function Cards({ overview, chart }: { overview: ChannelOverview; chart: ComponentChildren }) {
  const { current, previous } = overview;
  return (
    <>
      <h2 class="section-title">{t("dash.audience")}</h2>
      <SubscribersCard current={current} previous={previous}>
        {chart}
      </SubscribersCard>
      <h2 class="section-title">{t("dash.engagement")}</h2>
      <MetricCard field="err" label="metric.err" help="metric.err.help" kind="percent" current={current.err} previous={previous.err} />
      <MetricCard field="err24" label="metric.err24" help="metric.err24.help" kind="percent" current={current.err24} previous={previous.err24} />
      <MetricCard field="er" label="metric.er" help="metric.er.help" kind="percent" current={current.er} previous={previous.er} />
      <ReachCard current={current} previous={previous} />
      <h2 class="section-title">{t("dash.perPost")}</h2>
      <MetricCard field="posts" label="metric.posts" help="metric.posts.help" kind="count" current={asMetric(current.posts)} previous={asMetric(previous.posts)} />
      <MetricCard
        field="views_per_post"
        label="metric.views_per_post"
        help="metric.views_per_post.help"
        kind="average"
        current={current.views_per_post}
        previous={previous.views_per_post}
      />
      <MetricCard
        field="forwards_per_post"
        label="metric.forwards_per_post"
        help="metric.forwards_per_post.help"
        kind="average"
        current={current.forwards_per_post}
        previous={previous.forwards_per_post}
      />
      <MetricCard
        field="reactions_per_post"
        label="metric.reactions_per_post"
        help="metric.reactions_per_post.help"
        kind="average"
        current={current.reactions_per_post}
        previous={previous.reactions_per_post}
      />
      <MetricCard
        field="replies_per_post"
        label="metric.replies_per_post"
        help="metric.replies_per_post.help"
        kind="average"
        current={current.replies_per_post}
        previous={previous.replies_per_post}
      />
      <p class="footnote" data-testid="views-upper-bound">
        {t("metric.footnote")}
      </p>
    </>
  );
}

export function ChannelDashboard({ channelId }: { channelId: number }) {
  const [days, setDays] = useState<Days>(storedPeriodDays);
  const [exporting, setExporting] = useState(false);
  // The server's "now" (the end of its default period) anchors longer periods, so
  // they end where the default one does even when the server's clock is simulated.
  const anchorEnd = useRef<string | null>(null);

  // The newest overview pushed by the live feed, and when it came: a REST answer that
  // was asked for before it must not replace it.
  const pushed = useRef<{ overview: ChannelOverview; at: number } | null>(null);

  const [state, reload, replace] = useAsync(
    async (signal: AbortSignal): Promise<ChannelOverview> => {
      const askedAt = performance.now();
      if (days === 7 || anchorEnd.current === null) {
        const overview = await getOverview(channelId, null, signal);
        anchorEnd.current = overview.current.end;
        const live = pushed.current;
        if (days === 7) return live && live.at > askedAt ? live.overview : overview;
      }
      const end = anchorEnd.current;
      const period: Period = { start: new Date(Date.parse(end) - days * DAY_MS).toISOString(), end };
      return getOverview(channelId, period, signal);
    },
    [channelId, days],
  );
  const overview = state.data;
  // The chart follows the live period, refetched at most every 15 s.
  const periodKey = overview ? `${overview.current.start}/${overview.current.end}` : "";
  const periodDays = overview
    ? Math.round((Date.parse(overview.current.end) - Date.parse(overview.current.start)) / DAY_MS)
    : 0;
  const chartKey = useThrottled(periodKey, 15_000, periodDays);
  const [series] = useAsync((signal) => {
    const [start, end] = chartKey.split("/");
    if (!start || !end) return Promise.resolve(null);
    const length = (Date.parse(end) - Date.parse(start)) / DAY_MS;
    return getSubscribers(channelId, { start, end }, length <= 8 ? "hour" : "day", signal);
  }, [channelId, chartKey]);
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const mine = channels.data?.find((c) => c.channel_id === channelId);
  const role = mine?.role ?? null;
  const shared = isSharedView() || mine?.shared === true;

  const live = useLiveOverview(channelId, (overview, kind) => {
    pushed.current = { overview, at: performance.now() };
    anchorEnd.current = overview.current.end;
    if (days === 7) replace(overview);
    else if (kind !== "initial") reload();
  });

  const choose = (next: Days): void => {
    if (next === days) return;
    hapticSelection();
    setPeriodDays(next);
    setDays(next);
  };
  const runExport = (): void => {
    setExporting(true);
    exportPosts(channelId).finally(() => setExporting(false));
  };

  const items: NavItem[] = [
    { key: "posts", route: { name: "section", channelId, section: "posts" }, label: "nav.posts", hint: "nav.posts.hint", icon: "▤" },
    { key: "best-time", route: { name: "section", channelId, section: "best-time" }, label: "nav.best-time", hint: "nav.best-time.hint", icon: "◷" },
    { key: "native", route: { name: "section", channelId, section: "native" }, label: "nav.native", hint: "nav.native.hint", icon: "◔" },
  ];
  // A share token is read-only and sees no alerts, export, team or share links.
  if (!shared) {
    items.push({ key: "alerts", route: { name: "section", channelId, section: "alerts" }, label: "nav.alerts", hint: "nav.alerts.hint", icon: "◉" });
  }
  if (!shared && roleAtLeast(role, "analyst")) {
    items.push({ key: "export", onClick: runExport, label: "nav.export", hint: "nav.export.hint", icon: "⇩", busy: exporting });
  }
  if (!shared && roleAtLeast(role, "admin")) {
    items.push({ key: "team", route: { name: "section", channelId, section: "team" }, label: "nav.team", hint: "nav.team.hint", icon: "☺" });
    items.push({ key: "share", route: { name: "section", channelId, section: "share" }, label: "nav.share", hint: "nav.share.hint", icon: "⚭" });
  }

  const chart = series.data ? <SubscriberChart series={series.data} /> : <div class="skeleton skeleton-chart" />;

  return (
    <main class="screen" data-testid="screen-dashboard" data-channel-id={String(channelId)}>
      <BackLink />
      {overview ? (
        <header class="dashboard-head">
          <div class="title-row">
            <h1 class="title" data-testid="channel-title">
              {overview.title}
            </h1>
            <LiveIndicator status={live} />
          </div>
          <p class="subtitle">
            <span data-testid="period-range">{formatPeriod(overview.current.start, overview.current.end)}</span>
            {" · "}
            <Freshness dataAsOf={overview.data_as_of} />
          </p>
        </header>
      ) : (
        state.status !== "error" && <div class="skeleton skeleton-title" />
      )}
      {(overview !== null || state.status !== "error") && <PeriodSelector days={days} onChange={choose} />}
      {state.status === "error" ? (
        <ErrorState error={state.error} onRetry={reload} />
      ) : overview === null ? (
        <Skeleton rows={5} kind="card" />
      ) : (
        <>
          <div class={state.status === "loading" ? "cards cards-stale" : "cards"} aria-busy={state.status === "loading"}>
            <Cards overview={overview} chart={chart} />
          </div>
          <h2 class="section-title">{t("dash.more")}</h2>
          <NavList items={items} label={t("dash.more")} />
        </>
      )}
      <MainAction
        text={t("nav.posts")}
        testId="main-posts"
        onClick={() => navigate({ name: "section", channelId, section: "posts" })}
      />
    </main>
  );
}
