// Horizontal bars with a label and a value: reactions by emoji, views by source,
// languages. Plain HTML, so it reads naturally to screen readers as a list.

export interface Bar {
  key: string;
  label: string;
  value: number;
  /** The formatted value shown at the end of the bar. */
  display: string;
}

export function BarList({ bars, label, testId }: { bars: readonly Bar[]; label: string; testId?: string }) {
  const max = Math.max(0, ...bars.map((bar) => bar.value));
  return (
    <ul class="bar-list" aria-label={label} data-testid={testId} data-chart="bars">
      {bars.map((bar) => (
        <li key={bar.key} class="bar-row" data-testid="bar" data-key={bar.key} data-value={String(bar.value)}>
          <span class="bar-label">{bar.label}</span>
          <span class="bar-track" aria-hidden="true">
            <svg class="bar-svg" viewBox="0 0 100 8" preserveAspectRatio="none">
              <rect class="bar-fill" x="0" y="0" height="8" rx="2" width={max > 0 ? Math.max(1, (bar.value / max) * 100) : 0} />
            </svg>
          </span>
          <span class="bar-value">{bar.display}</span>
        </li>
      ))}
    </ul>
  );
}
