import type { SubscriberSeries } from "../api-types";
import { LineChart } from "../charts/line-chart";
import { formatCompact, formatCount, formatDateTime, formatDay } from "../format";
import { t } from "../i18n";

/** Subscribers over the period as an area chart; honest when there are no samples. */
export function SubscriberChart({ series }: { series: SubscriberSeries }) {
  const points = series.points.map((p) => ({ x: Date.parse(p.at), y: p.subscribers.value }));
  const known = points.flatMap((p) => (p.y === null ? [] : [p.y]));
  if (known.length < 2) {
    return (
      <p class="chart-empty" data-testid="chart-subscribers-empty">
        {t("chart.noData")}
      </p>
    );
  }
  const hourly = series.granularity === "hour";
  return (
    <LineChart
      testId="chart-subscribers"
      series={[{ key: "subscribers", label: t("chart.subscribers"), points }]}
      title={t("chart.subscribers")}
      summary={t("chart.summary", {
        first: formatCount(known[0] ?? 0),
        last: formatCount(known[known.length - 1] ?? 0),
        min: formatCount(Math.min(...known)),
        max: formatCount(Math.max(...known)),
      })}
      formatX={(x) => formatDay(new Date(x))}
      formatPointX={(x) => (hourly ? formatDateTime(new Date(x)) : formatDay(new Date(x)))}
      formatY={formatCompact}
      area
      height={150}
    />
  );
}
