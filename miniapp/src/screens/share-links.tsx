// Share links: read-only links to this channel's dashboard for people without a
// Telegram login. Create (with a lifetime), list with status, copy the URL (shown only
// when created: no secret is stored), revoke. Admins and owners only.

import { useState } from "preact/hooks";
import { ApiError, createShareLink, listShareLinks, revokeShareLink } from "../api";
import type { CreatedShareLink, ShareLink } from "../api-types";
import { myChannels, roleAtLeast } from "../channels";
import { BackLink } from "../components/back-link";
import { CopyLink } from "../components/copy-link";
import { MainAction } from "../components/main-action";
import { ErrorState, Skeleton } from "../components/states";
import { showToast } from "../components/toast";
import { formatDateTime } from "../format";
import { useAsync } from "../hooks";
import { hasMessage, t } from "../i18n";
import { confirmAction, hapticNotify, hapticSelection } from "../telegram";

const DAY = 86_400;
type TtlDays = 1 | 7 | 30;
const TTLS: readonly { days: TtlDays; key: "team.valid.1" | "team.valid.7" | "team.valid.30" }[] = [
  { days: 1, key: "team.valid.1" },
  { days: 7, key: "team.valid.7" },
  { days: 30, key: "team.valid.30" },
];

function fail(error: unknown): void {
  hapticNotify("error");
  const key = error instanceof ApiError ? `error.${error.code}` : "";
  showToast(hasMessage(key) ? t(key) : error instanceof ApiError ? error.message : t("error.generic"), "error");
}

function statusName(status: string): string {
  const key = `share.status.${status}`;
  return hasMessage(key) ? t(key) : status;
}

function LinkRow({ link, onRevoke }: { link: ShareLink; onRevoke: (link: ShareLink) => void }) {
  // What matters most first (rows truncate): until when, then whether anyone opened it.
  const lines = [
    link.status === "revoked" && link.revoked_at
      ? t("share.revokedAt", { date: formatDateTime(new Date(link.revoked_at)) })
      : t(link.status === "expired" ? "share.expiredAt" : "share.expires", {
          date: formatDateTime(new Date(link.expires_at)),
        }),
    link.last_used_at
      ? t("share.lastUsed", { date: formatDateTime(new Date(link.last_used_at)) })
      : t("share.neverUsed"),
  ];
  return (
    <li class="row" data-testid="share-item" data-link-id={String(link.link_id)} data-status={link.status}>
      <span class="row-main">
        <span class="row-title">
          #{link.link_id} · {t("share.created", { date: formatDateTime(new Date(link.created_at)) })}
        </span>
        <span class="row-subtitle">{lines.join(" · ")}</span>
      </span>
      <span class={`chip status-${link.status}`} data-testid="share-status">
        {statusName(link.status)}
      </span>
      {link.status === "active" && (
        <button type="button" class="link-button destructive" data-testid="share-revoke" onClick={() => onRevoke(link)}>
          {t("team.revoke")}
        </button>
      )}
    </li>
  );
}

export function ShareLinksScreen({ channelId }: { channelId: number }) {
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const role = channels.data?.find((c) => c.channel_id === channelId)?.role ?? null;
  const [links, reload] = useAsync((signal) => listShareLinks(channelId, signal), [channelId]);
  const [days, setDays] = useState<TtlDays>(7);
  const [saving, setSaving] = useState(false);
  const [created, setCreated] = useState<CreatedShareLink | null>(null);

  const create = (): void => {
    setSaving(true);
    createShareLink(channelId, days * DAY).then(
      (reply) => {
        hapticNotify("success");
        setSaving(false);
        setCreated(reply);
        reload();
      },
      (error: unknown) => {
        setSaving(false);
        fail(error);
      },
    );
  };
  const revoke = async (link: ShareLink): Promise<void> => {
    if (!(await confirmAction(t("share.revokeConfirm")))) return;
    try {
      await revokeShareLink(channelId, link.link_id);
      hapticNotify("success");
      if (created?.link.link_id === link.link_id) setCreated(null);
      reload();
    } catch (error) {
      fail(error);
    }
  };

  if (role !== null && !roleAtLeast(role, "admin")) {
    return (
      <main class="screen" data-testid="screen-share" data-channel-id={String(channelId)}>
        <BackLink />
        <ErrorState error={new ApiError(403, "FORBIDDEN", "forbidden")} onRetry={reload} />
      </main>
    );
  }

  return (
    <main class="screen" data-testid="screen-share" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("share.title")}</h1>
      <p class="subtitle">{t("share.hint")}</p>
      <div class="cards">
        <section class="card form" data-testid="share-form">
          <div class="control control-block">
            <span class="control-label">{t("share.ttl")}</span>
            <div class="segmented" role="radiogroup" aria-label={t("share.ttl")}>
              {TTLS.map((option) => (
                <button
                  key={option.days}
                  type="button"
                  role="radio"
                  aria-checked={option.days === days}
                  class={option.days === days ? "segment segment-active" : "segment"}
                  data-testid={`share-ttl-${option.days}`}
                  onClick={() => {
                    hapticSelection();
                    setDays(option.days);
                  }}
                >
                  {t(option.key)}
                </button>
              ))}
            </div>
          </div>
        </section>
        {created && <CopyLink text={created.url} testId="share" note={t("share.once")} />}
        <h2 class="section-title">{t("share.list")}</h2>
        {links.status === "error" ? (
          <ErrorState error={links.error} onRetry={reload} />
        ) : links.data === null ? (
          <Skeleton rows={2} kind="row" />
        ) : links.data.length === 0 ? (
          <p class="card na" data-testid="share-empty">
            {t("share.empty")}
          </p>
        ) : (
          <ul class="section list" data-testid="share-list">
            {links.data.map((link) => (
              <LinkRow key={link.link_id} link={link} onRevoke={(l) => void revoke(l)} />
            ))}
          </ul>
        )}
      </div>
      <MainAction text={t("share.create")} testId="main-create-share" progress={saving} onClick={create} />
    </main>
  );
}
