// Metric values and cards. Every number carries its raw value in `data-value`;
// an unavailable metric shows "Not enough data" and its reason, never 0.

import type { Metric } from "../api-types";
import { formatAverage, formatCount, formatPercent, formatRatio, formatSignedCount, percentChange } from "../format";
import { hasMessage, t, type MessageKey } from "../i18n";

export type ValueKind = "count" | "signedCount" | "average" | "percent" | "ratio";

const FORMATS: Record<ValueKind, (value: number) => string> = {
  count: formatCount,
  signedCount: formatSignedCount,
  average: formatAverage,
  percent: formatPercent,
  ratio: formatRatio,
};

export function formatValue(kind: ValueKind, value: number): string {
  return FORMATS[kind](value);
}

export function reasonText(reason: string | null): string {
  const key = `na.${reason ?? "unknown"}`;
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
    const code = metric.unavailable_reason ?? "UNKNOWN";
    return large ? (
      <span class="na na-large" data-testid={testId} data-reason={code}>
        <span class="na-title">{t("na.title")}</span>
        <span class="na-reason">{reason}</span>
      </span>
    ) : (
      <span class="na" data-testid={testId} data-reason={code}>
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
    <span
      class={`trend trend-${direction}`}
      data-testid={testId}
      data-value={String(percent)}
      title={t("metric.change")}
    >
      {arrow}
      {formatPercent(Math.abs(percent))}
    </span>
  );
}

/** A count as a Metric, so plain numbers and Metrics render alike. */
export function asMetric(value: number): Metric {
  return { value };
}

/** A headline number with its change against the previous period and its definition. */
export function MetricCard({
  field,
  label,
  help,
  current,
  previous,
  kind,
}: {
  field: string;
  label: MessageKey;
  help: MessageKey;
  current: Metric;
  previous: Metric;
  kind: ValueKind;
}) {
  const change = percentChange(current.value, previous.value);
  return (
    <section class="card" data-testid={`card-${field}`} aria-labelledby={`label-${field}`}>
      <div class="card-head">
        <h3 class="card-label" id={`label-${field}`}>
          {t(label)}
        </h3>
        {change !== null && <Trend percent={change} testId={`change-${field}`} />}
      </div>
      <MetricValue metric={current} kind={kind} testId={`metric-${field}`} large />
      <p class="card-line">
        <span class="card-line-label">{t("metric.previous")}: </span>
        <MetricValue metric={previous} kind={kind} testId={`previous-${field}`} />
      </p>
      <p class="card-help">{t(help)}</p>
    </section>
  );
}

/** A percentage Metric as a trend, or "Not enough data". */
export function PercentMetric({ metric, testId }: { metric: Metric; testId: string }) {
  return metric.value === null ? (
    <MetricValue metric={metric} kind="percent" testId={testId} />
  ) : (
    <Trend percent={metric.value} testId={testId} />
  );
}
