// The shared view's read-only banner and the screen for a link that can no longer be used.

import { formatDateTime } from "../format";
import { hasMessage, t } from "../i18n";

export function SharedBanner({ linkExpiresAt }: { linkExpiresAt: string }) {
  return (
    <div class="shared-banner" role="note" data-testid="shared-banner">
      <span class="shared-banner-title">{t("shared.banner")}</span>
      <span class="shared-banner-until" data-value={linkExpiresAt}>
        {t("shared.until", { date: formatDateTime(new Date(linkExpiresAt)) })}
      </span>
    </div>
  );
}

/** Revoked, expired or unknown: a final state, with no retry and nothing of the channel. */
export function SharedLinkDead({ code }: { code: string }) {
  const known = code === "SHARE_LINK_REVOKED" || code === "SHARE_LINK_EXPIRED" ? code : "SHARE_LINK_UNKNOWN";
  const title = `shared.dead.${known}.title`;
  const text = `shared.dead.${known}.text`;
  return (
    <main class="screen" data-testid="screen-share-dead" data-code={known}>
      <div class="state" role="alert">
        <div class="state-icon" aria-hidden="true">
          ⊘
        </div>
        <h1 class="state-title">{hasMessage(title) ? t(title) : known}</h1>
        <p class="state-text">{hasMessage(text) ? t(text) : ""}</p>
      </div>
    </main>
  );
}
