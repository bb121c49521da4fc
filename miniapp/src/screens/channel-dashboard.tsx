import { useRef, useState } from "preact/hooks";
import { getOverview, type Period } from "../api";
import type { ChannelOverview } from "../api-types";
import { asMetric, MetricCard } from "../components/metric";
import { ErrorState, Skeleton } from "../components/states";
import { SubscribersCard } from "../components/subscribers-card";
import { formatAgo, formatPeriod } from "../format";
import { useAsync, useNow } from "../hooks";
import { t } from "../i18n";
import { goBack } from "../router";
import { hapticSelection, hasNativeBackButton } from "../telegram";

type Days = 7 | 30;
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

function Cards({ overview }: { overview: ChannelOverview }) {
  const { current, previous } = overview;
  return (
    <>
      <SubscribersCard current={current} previous={previous} />
      <MetricCard name="posts" kind="count" current={asMetric(current.posts)} previous={asMetric(previous.posts)} />
      <MetricCard name="views_per_post" kind="average" current={current.views_per_post} previous={previous.views_per_post} />
      <MetricCard
        name="forwards_per_post"
        kind="average"
        current={current.forwards_per_post}
        previous={previous.forwards_per_post}
      />
      <MetricCard
        name="reactions_per_post"
        kind="average"
        current={current.reactions_per_post}
        previous={previous.reactions_per_post}
      />
      <p class="footnote">{t("metric.footnote")}</p>
    </>
  );
}

export function ChannelDashboard({ channelId }: { channelId: number }) {
  const [days, setDays] = useState<Days>(7);
  // The server's "now" (the end of its default period) anchors longer periods, so
  // they end where the default one does even when the server's clock is simulated.
  const anchorEnd = useRef<string | null>(null);

  const [state, reload] = useAsync(
    async (signal: AbortSignal): Promise<ChannelOverview> => {
      if (days === 7 || anchorEnd.current === null) {
        const overview = await getOverview(channelId, null, signal);
        anchorEnd.current = overview.current.end;
        if (days === 7) return overview;
      }
      const end = anchorEnd.current;
      const period: Period = { start: new Date(Date.parse(end) - days * DAY_MS).toISOString(), end };
      return getOverview(channelId, period, signal);
    },
    [channelId, days],
  );

  const choose = (next: Days): void => {
    if (next === days) return;
    hapticSelection();
    setDays(next);
  };
  const overview = state.data;

  return (
    <main class="screen" data-testid="screen-dashboard" data-channel-id={String(channelId)}>
      {!hasNativeBackButton() && (
        <button type="button" class="back" data-testid="back" onClick={goBack}>
          <span aria-hidden="true">‹ </span>
          {t("nav.back")}
        </button>
      )}
      {overview ? (
        <header class="dashboard-head">
          <h1 class="title" data-testid="channel-title">
            {overview.title}
          </h1>
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
        <div class={state.status === "loading" ? "cards cards-stale" : "cards"} aria-busy={state.status === "loading"}>
          <Cards overview={overview} />
        </div>
      )}
    </main>
  );
}
