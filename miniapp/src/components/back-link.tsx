import { t } from "../i18n";
import { goBack } from "../router";
import { hasNativeBackButton } from "../telegram";

/** The in-page back link, shown only where Telegram does not draw its BackButton. */
export function BackLink() {
  if (hasNativeBackButton()) return null;
  return (
    <button type="button" class="back" data-testid="back" onClick={goBack}>
      <span aria-hidden="true">‹ </span>
      {t("nav.back")}
    </button>
  );
}
