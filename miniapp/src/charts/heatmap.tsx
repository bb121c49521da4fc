// A weekday × hour grid. Each cell's shade is its score relative to the best cell;
// cells without enough data are drawn hatched and say so in their title.

import { extent } from "./scale";

export interface HeatCell {
  /** 1 Monday … 7 Sunday. */
  weekday: number;
  hour: number;
  value: number | null;
  /** Shown as the cell's title, e.g. "Tue 18:00 — 1.4× median, 5 posts". */
  label: string;
}

const CELL = 13;
const GAP = 2;
const LEFT = 30;
const TOP = 14;

export function Heatmap({
  cells,
  weekdayNames,
  title,
  summary,
  testId,
}: {
  cells: readonly HeatCell[];
  /** Seven short names, Monday first. */
  weekdayNames: readonly string[];
  title: string;
  summary: string;
  testId?: string;
}) {
  const domain = extent(cells.flatMap((c) => (c.value === null ? [] : [c.value])));
  const width = LEFT + 24 * (CELL + GAP);
  const height = TOP + 7 * (CELL + GAP);
  const level = (value: number): number => {
    if (domain === null || domain.max === domain.min) return 3;
    return Math.min(4, Math.floor(((value - domain.min) / (domain.max - domain.min)) * 4.999));
  };
  return (
    <figure class="chart heatmap" data-testid={testId}>
      <svg class="chart-svg" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}. ${summary}`} data-chart="heatmap">
        <defs>
          <pattern id="heat-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <line class="heat-hatch" x1="0" y1="0" x2="0" y2="4" />
          </pattern>
        </defs>
        {[0, 6, 12, 18].map((hour) => (
          <text key={hour} class="chart-axis" x={LEFT + hour * (CELL + GAP)} y={TOP - 4}>
            {String(hour).padStart(2, "0")}
          </text>
        ))}
        {weekdayNames.map((name, index) => (
          <text key={name} class="chart-axis" x={0} y={TOP + index * (CELL + GAP) + CELL - 3}>
            {name}
          </text>
        ))}
        {cells.map((cell) => (
          <rect
            key={`${cell.weekday}-${cell.hour}`}
            class={cell.value === null ? "heat-cell heat-na" : `heat-cell heat-${level(cell.value)}`}
            x={LEFT + cell.hour * (CELL + GAP)}
            y={TOP + (cell.weekday - 1) * (CELL + GAP)}
            width={CELL}
            height={CELL}
            rx={2}
            data-testid="heat-cell"
            data-weekday={cell.weekday}
            data-hour={cell.hour}
            data-value={cell.value === null ? undefined : String(cell.value)}
          >
            <title>{cell.label}</title>
          </rect>
        ))}
      </svg>
    </figure>
  );
}
