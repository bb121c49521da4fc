import { t } from "../i18n";
import { goBack, parseRoute } from "../router";
import { isSharedView } from "../share";
import { hasNativeBackButton } from "../telegram";

/** The in-page back link, shown only where Telegram does not draw its BackButton. */
export function BackLink() {
  if (hasNativeBackButton()) return null;
  // The shared view opens on its channel's dashboard: there is nothing to go back to.
  if (isSharedView() && parseRoute(location.hash).name === "channel") return null;
  return (
    <button type="button" class="back" data-testid="back" onClick={goBack}>
      <span aria-hidden="true">‹ </span>
      {t("nav.back")}
    </button>
  );
}
