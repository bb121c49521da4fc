import { extent, linear, linePath } from "./scale";

/**
 * A word-sized trend line of `values` (nulls are gaps). Decorative next to a number
 * that says the same, so it carries a short accessible label and no axes.
 */
export function Sparkline({
  values,
  label,
  testId,
  width = 72,
  height = 28,
}: {
  values: readonly (number | null)[];
  label: string;
  testId?: string;
  width?: number;
  height?: number;
}) {
  const known = values.filter((value): value is number => value !== null);
  const domain = extent(known);
  if (domain === null || known.length < 2) {
    return <span class="sparkline-empty" data-testid={testId} aria-hidden="true" />;
  }
  const x = linear({ min: 0, max: values.length - 1 }, 1, width - 1);
  const y = linear(domain, height - 2, 2);
  const first = known[0] ?? 0;
  const last = known[known.length - 1] ?? 0;
  const trend = last > first ? "up" : last < first ? "down" : "flat";
  const path = linePath(values.map((value, index) => (value === null ? null : [x(index), y(value)])));
  return (
    <svg
      class={`sparkline sparkline-${trend}`}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
      data-testid={testId}
      data-chart="sparkline"
    >
      <path d={path} />
    </svg>
  );
}
