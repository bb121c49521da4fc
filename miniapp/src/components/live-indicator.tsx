import { t } from "../i18n";
import type { LiveStatus } from "../live";

/** A small dot and word: green and pulsing when live, grey while reconnecting. */
export function LiveIndicator({ status }: { status: LiveStatus }) {
  return (
    <span class={`live live-${status}`} data-testid="live-indicator" data-status={status} role="status">
      <span class="live-dot" aria-hidden="true" />
      {t(`live.${status === "live" ? "live" : status}`)}
    </span>
  );
}
