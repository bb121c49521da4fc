// A secret link shown once (a new invite or share link), with Copy and, for t.me
// links, "Send in Telegram" (Telegram's share sheet through openTelegramLink).

import { useRef } from "preact/hooks";
import { t } from "../i18n";
import { hapticNotify, openTelegramLink } from "../telegram";
import { showToast } from "./toast";

async function copyText(text: string, fallback: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older WebViews: select the field and use the legacy command.
    if (!fallback) return false;
    fallback.focus();
    fallback.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

export function CopyLink({ text, testId, note }: { text: string; testId: string; note: string }) {
  const field = useRef<HTMLInputElement>(null);
  const copy = async (): Promise<void> => {
    const done = await copyText(text, field.current);
    hapticNotify(done ? "success" : "warning");
    showToast(t(done ? "copy.done" : "copy.failed"), done ? "info" : "error");
  };
  const shareable = /^https:\/\//.test(text);
  return (
    <section class="card created-link" data-testid={`${testId}-created`}>
      <input
        ref={field}
        class="input link-field"
        readOnly
        value={text}
        data-testid={`${testId}-link`}
        aria-label={t("copy.link")}
        onFocus={(event) => (event.currentTarget as HTMLInputElement).select()}
      />
      <p class="card-help">{note}</p>
      <div class="button-row">
        <button type="button" class="button" data-testid={`${testId}-copy`} onClick={() => void copy()}>
          {t("copy.copy")}
        </button>
        {shareable && (
          <button
            type="button"
            class="button button-secondary"
            data-testid={`${testId}-send`}
            onClick={() => openTelegramLink(`https://t.me/share/url?url=${encodeURIComponent(text)}`)}
          >
            {t("copy.send")}
          </button>
        )}
      </div>
    </section>
  );
}
