// A line chart of one or more series sharing the x axis (time or age), in SVG sized
// by its viewBox. Colours come from the theme through CSS classes. Tapping or moving
// over the chart shows the values nearest that x above the plot.

import { useState } from "preact/hooks";
import { extent, linear, linePath, niceTicks } from "./scale";

export interface ChartPoint {
  x: number;
  /** null: not enough data at this x; the line has a gap there. */
  y: number | null;
}

export interface ChartSeries {
  key: string;
  label: string;
  points: readonly ChartPoint[];
  dashed?: boolean;
}

const WIDTH = 340;
const PAD = { top: 10, right: 10, bottom: 22, left: 46 };

let nextId = 0;

function nearest(points: readonly ChartPoint[], x: number): ChartPoint | null {
  let best: ChartPoint | null = null;
  for (const point of points) {
    if (point.y === null) continue;
    if (best === null || Math.abs(point.x - x) < Math.abs(best.x - x)) best = point;
  }
  return best;
}

export function LineChart({
  series,
  title,
  summary,
  formatX,
  formatY,
  formatPointX = formatX,
  area = false,
  zeroBased = false,
  height = 180,
  testId,
}: {
  series: readonly ChartSeries[];
  /** The accessible name, e.g. "Subscribers, 18–25 Nov". */
  title: string;
  /** A sentence with the chart's message for screen readers. */
  summary: string;
  formatX: (x: number) => string;
  formatY: (y: number) => string;
  /** The x of a tapped point, when the axis labels are coarser (dates vs date and time). */
  formatPointX?: (x: number) => string;
  area?: boolean;
  zeroBased?: boolean;
  height?: number;
  testId?: string;
}) {
  const [id] = useState(() => `chart-${++nextId}`);
  const [hoverX, setHoverX] = useState<number | null>(null);
  const all = series.flatMap((s) => s.points);
  const xs = extent(all.map((p) => p.x));
  const ysKnown = all.flatMap((p) => (p.y === null ? [] : [p.y]));
  const ys = extent(zeroBased ? [0, ...ysKnown] : ysKnown);
  if (xs === null || ys === null) return null;

  const { domain: yDomain, ticks } = niceTicks(ys, 3);
  const x = linear(xs, PAD.left, WIDTH - PAD.right);
  const y = linear(yDomain, height - PAD.bottom, PAD.top);
  const bottom = height - PAD.bottom;
  const xLabels = xs.min === xs.max ? [xs.min] : [xs.min, (xs.min + xs.max) / 2, xs.max];

  const onPointer = (event: PointerEvent): void => {
    const svg = event.currentTarget as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    if (box.width === 0) return;
    const viewX = ((event.clientX - box.left) / box.width) * WIDTH;
    const ratio = (viewX - PAD.left) / (WIDTH - PAD.left - PAD.right);
    setHoverX(xs.min + Math.min(1, Math.max(0, ratio)) * (xs.max - xs.min));
  };
  const primary = series[0];
  const hovered = hoverX === null || !primary ? null : nearest(primary.points, hoverX);

  return (
    <figure class="chart" data-testid={testId}>
      <div class="chart-readout" aria-live="polite">
        {hovered ? (
          <>
            <span class="chart-readout-x">{formatPointX(hovered.x)}</span>
            {series.map((s, index) => {
              const point = nearest(s.points, hovered.x);
              return (
                <span key={s.key} class={`chart-key chart-key-${index}`}>
                  {s.label}: <b>{point && point.x === hovered.x && point.y !== null ? formatY(point.y) : "—"}</b>
                </span>
              );
            })}
          </>
        ) : (
          series.length > 1 &&
          series.map((s, index) => (
            <span key={s.key} class={`chart-key chart-key-${index}${s.dashed ? " chart-key-dashed" : ""}`}>
              {s.label}
            </span>
          ))
        )}
      </div>
      <svg
        class="chart-svg"
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        data-chart="line"
        onPointerMove={onPointer}
        onPointerDown={onPointer}
        onPointerLeave={() => setHoverX(null)}
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        {ticks.map((tick) => (
          <g key={tick} class="chart-grid">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(tick)} y2={y(tick)} />
            <text x={PAD.left - 6} y={y(tick)} dy="0.32em" text-anchor="end">
              {formatY(tick)}
            </text>
          </g>
        ))}
        {xLabels.map((value, index) => (
          <text
            key={value}
            class="chart-axis"
            x={x(value)}
            y={height - 6}
            text-anchor={index === 0 ? "start" : index === xLabels.length - 1 ? "end" : "middle"}
          >
            {formatX(value)}
          </text>
        ))}
        {series.map((s, index) => {
          const coords = s.points.map((p) => (p.y === null ? null : ([x(p.x), y(p.y)] as const)));
          const line = linePath(coords);
          const first = coords.find((c) => c !== null);
          const last = [...coords].reverse().find((c) => c !== null);
          const fill =
            area && index === 0 && first && last && !coords.includes(null)
              ? `${line}L${last[0].toFixed(1)},${bottom}L${first[0].toFixed(1)},${bottom}Z`
              : null;
          return (
            <g key={s.key} class={`chart-series chart-series-${index}${s.dashed ? " chart-dashed" : ""}`}>
              {fill && <path class="chart-area" d={fill} />}
              <path class="chart-line" d={line} />
            </g>
          );
        })}
        {hovered && hovered.y !== null && (
          <g class="chart-cursor">
            <line x1={x(hovered.x)} x2={x(hovered.x)} y1={PAD.top} y2={bottom} />
            <circle cx={x(hovered.x)} cy={y(hovered.y)} r={4} />
          </g>
        )}
      </svg>
    </figure>
  );
}
