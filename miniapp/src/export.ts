// CSV export of a channel's posts. The gateway's export needs the bearer token, which
// Telegram's downloadFile cannot send (it fetches the URL itself), so the app fetches
// the file and saves it through a download link to an object URL.

import { ApiError, exportCsv } from "./api";
import { showToast } from "./components/toast";
import { hasMessage, t } from "./i18n";
import { hapticNotify } from "./telegram";

function reason(error: unknown): string {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    return hasMessage(key) ? t(key) : error.message;
  }
  return t("error.generic");
}

/** Downloads the posts CSV of the last 30 days; resolves when saved or failed (with a toast). */
export async function exportPosts(channelId: number): Promise<void> {
  showToast(t("export.started"));
  try {
    const blob = await exportCsv(channelId, null);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `channel-${channelId}-posts.csv`;
    link.rel = "noopener";
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    hapticNotify("success");
    showToast(t("export.done"));
  } catch (error) {
    hapticNotify("error");
    showToast(t("export.failed", { reason: reason(error) }), "error");
  }
}
