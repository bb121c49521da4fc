// Linear scales and "nice" axis bounds for the SVG charts. Pure functions.

export interface Domain {
  min: number;
  max: number;
}

/** Maps [domain.min, domain.max] onto [from, to]; a flat domain maps to the middle. */
export function linear(domain: Domain, from: number, to: number): (value: number) => number {
  const span = domain.max - domain.min;
  if (span === 0) return () => (from + to) / 2;
  return (value) => from + ((value - domain.min) / span) * (to - from);
}

/** The smallest and largest of `values`, or null when there are none. */
export function extent(values: Iterable<number>): Domain | null {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min <= max ? { min, max } : null;
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** `domain` widened to round numbers, with the tick values between (about `count`). */
export function niceTicks(domain: Domain, count: number): { domain: Domain; ticks: number[] } {
  if (domain.max === domain.min) {
    const pad = Math.abs(domain.max) > 0 ? Math.abs(domain.max) * 0.05 : 1;
    return niceTicks({ min: domain.min - pad, max: domain.max + pad }, count);
  }
  const step = niceStep(domain.max - domain.min, count);
  const min = Math.floor(domain.min / step) * step;
  const max = Math.ceil(domain.max / step) * step;
  const ticks: number[] = [];
  for (let value = min; value <= max + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  return { domain: { min, max }, ticks };
}

/** An SVG path through the points; a null y breaks the line (a gap in the data). */
export function linePath(points: readonly (readonly [number, number] | null)[]): string {
  let path = "";
  let pen = false;
  for (const point of points) {
    if (point === null) {
      pen = false;
      continue;
    }
    path += `${pen ? "L" : "M"}${point[0].toFixed(1)},${point[1].toFixed(1)}`;
    pen = true;
  }
  return path;
}
