import type { ComponentChildren } from "preact";
import type { PeriodStats } from "../api-types";
import { t } from "../i18n";
import type { Metric } from "../api-types";
import { MetricValue, PercentMetric } from "./metric";

/** Growth and its percent; when growth itself is unknown, one "not enough data". */
function Growth({ growth, percent, prefix }: { growth: Metric; percent: Metric; prefix: string }) {
  return (
    <>
      <MetricValue metric={growth} kind="signedCount" testId={`${prefix}-subscriber_growth`} />
      {(growth.value !== null || percent.value !== null) && (
        <PercentMetric metric={percent} testId={`${prefix}-subscriber_growth_percent`} />
      )}
    </>
  );
}

/** Subscribers at the end of the period, growth over it, the previous period's, a chart. */
export function SubscribersCard({
  current,
  previous,
  children,
}: {
  current: PeriodStats;
  previous: PeriodStats;
  children?: ComponentChildren;
}) {
  return (
    <section class="card" data-testid="card-subscribers" aria-labelledby="label-subscribers">
      <div class="card-head">
        <h3 class="card-label" id="label-subscribers">
          {t("metric.subscribers")}
        </h3>
      </div>
      <MetricValue metric={current.subscribers_end} kind="count" testId="metric-subscribers_end" large />
      <p class="card-line card-growth">
        <span class="card-line-label">{t("metric.subscribers.growth")}: </span>
        <Growth growth={current.subscriber_growth} percent={current.subscriber_growth_percent} prefix="metric" />
      </p>
      <p class="card-line">
        <span class="card-line-label">{t("metric.previous")}: </span>
        <MetricValue metric={previous.subscribers_end} kind="count" testId="previous-subscribers_end" />
        <span class="card-line-label" aria-hidden="true">
          ·
        </span>
        <Growth growth={previous.subscriber_growth} percent={previous.subscriber_growth_percent} prefix="previous" />
      </p>
      {children}
      <p class="card-help">{t("metric.subscribers.help")}</p>
    </section>
  );
}
