// Metric values and cards. Every number carries its raw value in `data-value`;
// an unavailable metric shows "Not enough data" and its reason, never 0.

import type { Metric } from "../api-types";
import {
  formatAverage,
  formatCount,
  formatPercent,
  formatSignedCount,
  percentChange,
} from "../format";
import { hasMessage, t, type MessageKey } from "../i18n";

export type ValueKind = "count" | "signedCount" | "average";

const FORMATS: Record<ValueKind, (value: number) => string> = {
  count: formatCount,
  signedCount: formatSignedCount,
  average: formatAverage,
};

function reasonText(reason: string): string {
  const key = `na.${reason}`;
  return hasMessage(key) ? t(key) : t("na.unknown");
}

/** One formatted value, or "Not enough data" with the reason in words. */
export function MetricValue({
  metric,
  kind,
  testId,
  large = false,
}: {
  metric: Metric;
  kind: ValueKind;
  testId: string;
  large?: boolean;
}) {
  if (metric.value === null) {
    const reason = reasonText(metric.unavailable_reason);
    return large ? (
      <span class="na na-large" data-testid={testId} data-reason={metric.unavailable_reason}>
        <span class="na-title">{t("na.title")}</span>
        <span class="na-reason">{reason}</span>
      </span>
    ) : (
      <span class="na" data-testid={testId} data-reason={metric.unavailable_reason}>
        {t("na.inline", { reason })}
      </span>
    );
  }
  return (
    <span class={large ? "value value-large" : "value"} data-testid={testId} data-value={String(metric.value)}>
      {FORMATS[kind](metric.value)}
    </span>
  );
}

/** ▲ 12.3% / ▼ 4.0% for a change given in percent. */
export function Trend({ percent, testId }: { percent: number; testId: string }) {
  const direction = percent > 0 ? "up" : percent < 0 ? "down" : "flat";
  const arrow = percent > 0 ? "▲ " : percent < 0 ? "▼ " : "";
  return (
    <span class={`trend trend-${direction}`} data-testid={testId} data-value={String(percent)}>
      {arrow}
      {formatPercent(Math.abs(percent))}
    </span>
  );
}

/** A count as a Metric, so plain numbers and Metrics render alike. */
export function asMetric(value: number): Metric {
  return { value };
}

export function MetricCard({
  name,
  current,
  previous,
  kind,
}: {
  name: "posts" | "views_per_post" | "forwards_per_post" | "reactions_per_post";
  current: Metric;
  previous: Metric;
  kind: ValueKind;
}) {
  const change = percentChange(current.value, previous.value);
  const label: MessageKey = `metric.${name}`;
  const help: MessageKey = `metric.${name}.help`;
  return (
    <section class="card" data-testid={`card-${name}`} aria-labelledby={`label-${name}`}>
      <div class="card-head">
        <h2 class="card-label" id={`label-${name}`}>
          {t(label)}
        </h2>
        {change !== null && <Trend percent={change} testId={`change-${name}`} />}
      </div>
      <MetricValue metric={current} kind={kind} testId={`metric-${name}`} large />
      <p class="card-line">
        <span class="card-line-label">{t("metric.previous")}: </span>
        <MetricValue metric={previous} kind={kind} testId={`previous-${name}`} />
      </p>
      <p class="card-help">{t(help)}</p>
    </section>
  );
}

/** A percentage Metric as a trend, or "Not enough data". */
export function PercentMetric({ metric, testId }: { metric: Metric; testId: string }) {
  return metric.value === null ? (
    <MetricValue metric={metric} kind="average" testId={testId} />
  ) : (
    <Trend percent={metric.value} testId={testId} />
  );
}
