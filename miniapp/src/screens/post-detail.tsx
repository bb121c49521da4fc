import { getPost } from "../api";
import type { Metric, PostDetail } from "../api-types";
import { BarList } from "../charts/bar-list";
import { LineChart } from "../charts/line-chart";
import { myChannels } from "../channels";
import { BackLink } from "../components/back-link";
import { MainAction } from "../components/main-action";
import { MetricValue, type ValueKind } from "../components/metric";
import { ErrorState, Skeleton } from "../components/states";
import { formatCompact, formatCount, formatDateTime } from "../format";
import { useAsync } from "../hooks";
import { t, type MessageKey } from "../i18n";
import { openTelegramLink } from "../telegram";
import { mediaLabel, RatingBadge } from "./posts";

const HOUR = 3600;

function Stat({ field, label, metric, kind, help }: { field: string; label: MessageKey; metric: Metric; kind: ValueKind; help?: MessageKey }) {
  return (
    <div class="stat" data-testid={`stat-${field}`}>
      <span class="stat-label">{t(label)}</span>
      <MetricValue metric={metric} kind={kind} testId={`metric-${field}`} />
      {help && <span class="stat-help">{t(help)}</span>}
    </div>
  );
}

function ViewCurve({ detail }: { detail: PostDetail }) {
  const post = detail.view_curve.map((s) => ({ x: s.age_seconds / HOUR, y: s.views }));
  const median = detail.channel_median_curve.map((p) => ({ x: p.age_seconds / HOUR, y: p.views.value }));
  const medianKnown = median.some((p) => p.y !== null);
  const last = detail.view_curve[detail.view_curve.length - 1];
  const hours = (x: number): string => t("post.hours", { hours: formatCount(Math.round(x)) });
  // The median reaches 168 h; a younger post's curve stops where its samples stop.
  const lastAge = last ? last.age_seconds / HOUR : 0;
  const shownMedian = median.filter((p) => p.x <= Math.max(lastAge, 24));
  return (
    <section class="card" data-testid="card-curve" aria-labelledby="label-curve">
      <h3 class="card-label" id="label-curve">
        {t("post.curve")}
      </h3>
      <LineChart
        testId="chart-view-curve"
        series={[
          { key: "post", label: t("post.curve.post"), points: post },
          ...(medianKnown ? [{ key: "median", label: t("post.curve.median"), points: shownMedian, dashed: true }] : []),
        ]}
        title={t("post.curve")}
        summary={last ? t("post.curve.summary", { views: formatCount(last.views), age: hours(last.age_seconds / HOUR) }) : ""}
        formatX={hours}
        formatY={formatCompact}
        zeroBased
      />
      {!medianKnown && (
        <p class="card-line na" data-testid="median-unavailable" data-reason="TOO_FEW_POSTS">
          {t("post.curve.noMedian")}
        </p>
      )}
      <p class="card-help">{t("post.curve.help")}</p>
    </section>
  );
}

export function PostScreen({ channelId, messageId }: { channelId: number; messageId: number }) {
  const [state, reload] = useAsync((signal) => getPost(channelId, messageId, signal), [channelId, messageId]);
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const username = channels.data?.find((c) => c.channel_id === channelId)?.username ?? "";
  const detail = state.data;
  return (
    <main class="screen" data-testid="screen-post" data-channel-id={String(channelId)} data-message-id={String(messageId)}>
      <BackLink />
      <h1 class="title">{t("post.title", { id: String(messageId) })}</h1>
      {state.status === "error" ? (
        <ErrorState error={state.error} onRetry={reload} />
      ) : detail === null ? (
        <Skeleton rows={3} kind="card" />
      ) : (
        <div class="cards">
          <p class="subtitle post-meta">
            <span>{t("post.published", { date: formatDateTime(new Date(detail.post.published_at)) })}</span>
            <span class="chip">{mediaLabel(detail.post.media_type)}</span>
            <RatingBadge rating={detail.post.rating} />
          </p>
          {detail.post.text_preview && <blockquote class="post-quote">{detail.post.text_preview}</blockquote>}
          <section class="card stat-grid" aria-label={t("metric.views")}>
            <Stat field="views" label="metric.views" metric={detail.post.views} kind="count" />
            <Stat field="reactions" label="metric.reactions" metric={detail.post.reactions} kind="count" />
            <Stat field="forwards" label="metric.forwards" metric={detail.post.forwards} kind="count" />
            <Stat field="replies" label="metric.replies" metric={detail.post.replies} kind="count" />
          </section>
          <ViewCurve detail={detail} />
          <section class="card stat-grid" aria-label={t("dash.engagement")}>
            <Stat field="er" label="metric.er" metric={detail.post.er} kind="percent" help="metric.post_er.help" />
            <Stat field="virality" label="metric.virality" metric={detail.post.virality} kind="ratio" help="metric.virality.help" />
            <Stat
              field="performance_index"
              label="metric.performance_index"
              metric={detail.post.performance_index}
              kind="ratio"
              help="metric.performance_index.help"
            />
          </section>
          <section class="card" aria-labelledby="label-post-reach">
            <h3 class="card-label" id="label-post-reach">
              {t("dash.reach")}
            </h3>
            <div class="reach-grid">
              {(["reach_12h", "reach_24h", "reach_48h"] as const).map((field) => (
                <div key={field} class="reach-cell">
                  <span class="reach-label">{t(`metric.${field}`)}</span>
                  <MetricValue metric={detail.post[field]} kind="count" testId={`metric-${field}`} />
                </div>
              ))}
            </div>
            <p class="card-help">{t("metric.post_reach.help")}</p>
          </section>
          <section class="card" aria-labelledby="label-reactions">
            <h3 class="card-label" id="label-reactions">
              {t("post.reactions")}
            </h3>
            {detail.reactions.length === 0 ? (
              <p class="card-line na" data-testid="reactions-empty">
                {t("post.reactions.empty")}
              </p>
            ) : (
              <BarList
                testId="reactions"
                label={t("post.reactions")}
                bars={detail.reactions.map((r) => ({
                  key: r.emoji,
                  label: /^\d+$/.test(r.emoji) ? "★" : r.emoji,
                  value: r.count,
                  display: formatCount(r.count),
                }))}
              />
            )}
          </section>
          <p class="footnote">{t("metric.footnote")}</p>
        </div>
      )}
      {username && (
        <MainAction
          text={t("post.open")}
          testId="main-open-post"
          onClick={() => openTelegramLink(`https://t.me/${username}/${messageId}`)}
        />
      )}
    </main>
  );
}
