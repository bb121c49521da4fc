import type { PeriodStats } from "../api-types";
import { t } from "../i18n";
import { MetricValue, PercentMetric } from "./metric";

/** Subscribers at the end of the period, growth over it, and the previous period's. */
export function SubscribersCard({ current, previous }: { current: PeriodStats; previous: PeriodStats }) {
  return (
    <section class="card" data-testid="card-subscribers" aria-labelledby="label-subscribers">
      <div class="card-head">
        <h2 class="card-label" id="label-subscribers">
          {t("metric.subscribers")}
        </h2>
      </div>
      <MetricValue metric={current.subscribers_end} kind="count" testId="metric-subscribers_end" large />
      <p class="card-line card-growth">
        <span class="card-line-label">{t("metric.subscribers.growth")}: </span>
        <MetricValue metric={current.subscriber_growth} kind="signedCount" testId="metric-subscriber_growth" />
        <PercentMetric metric={current.subscriber_growth_percent} testId="metric-subscriber_growth_percent" />
      </p>
      <p class="card-line">
        <span class="card-line-label">{t("metric.previous")}: </span>
        <MetricValue metric={previous.subscribers_end} kind="count" testId="previous-subscribers_end" />
        <span class="card-line-label" aria-hidden="true">
          ·
        </span>
        <MetricValue metric={previous.subscriber_growth} kind="signedCount" testId="previous-subscriber_growth" />
        <PercentMetric metric={previous.subscriber_growth_percent} testId="previous-subscriber_growth_percent" />
      </p>
      <p class="card-help">{t("metric.subscribers.help")}</p>
    </section>
  );
}
