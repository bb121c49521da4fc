// CSV export of a channel's posts. Inside Telegram 8.0+ the gateway makes a short-lived
// export link and Telegram's downloadFile fetches it (it cannot send our bearer token);
// elsewhere (an ordinary browser, older clients) the app fetches the file with the token
// and saves it through a download link to an object URL.

import { ApiError, createExportLink, exportCsv } from "./api";
import { showToast } from "./components/toast";
import { hasMessage, t } from "./i18n";
import { canDownloadFile, downloadFile, hapticNotify } from "./telegram";

function reason(error: unknown): string {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    return hasMessage(key) ? t(key) : error.message;
  }
  return t("error.generic");
}

async function saveFromBlob(channelId: number): Promise<void> {
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
}

/** Hands the download to Telegram; it shows its own prompt and progress. */
async function downloadInTelegram(channelId: number): Promise<void> {
  const link = await createExportLink(channelId, null);
  if (await downloadFile({ url: link.url, file_name: link.file_name })) {
    hapticNotify("success");
    showToast(t("export.handed"));
  }
}

/** Downloads the posts CSV of the last 30 days; resolves when handed over, saved or failed (with a toast). */
export async function exportPosts(channelId: number): Promise<void> {
  showToast(t("export.started"));
  try {
    if (canDownloadFile()) await downloadInTelegram(channelId);
    else await saveFromBlob(channelId);
  } catch (error) {
    hapticNotify("error");
    showToast(t("export.failed", { reason: reason(error) }), "error");
  }
}
