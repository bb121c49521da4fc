// Team: the channel's members with their roles (revoke where the grant is revocable),
// the live invites (revoke) and a form to create one. Admins and owners only; the
// dashboard shows no entry for lower roles and the API answers them 403.

import { useState } from "preact/hooks";
import { ApiError, createInvite, listInvites, listMembers, revokeInvite, revokeMember } from "../api";
import type { CreatedInvite, Invite, Member } from "../api-types";
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
const VALIDITY: readonly { days: 1 | 7 | 30; key: "team.valid.1" | "team.valid.7" | "team.valid.30" }[] = [
  { days: 1, key: "team.valid.1" },
  { days: 7, key: "team.valid.7" },
  { days: 30, key: "team.valid.30" },
];

function roleName(role: string): string {
  const key = `role.${role}`;
  return hasMessage(key) ? t(key) : role;
}

function memberName(member: Member): string {
  const name = [member.first_name, member.last_name].filter(Boolean).join(" ");
  return name || (member.username ? `@${member.username}` : `#${member.user_id}`);
}

function sourceName(source: string | null): string {
  const key = `team.source.${source ?? "unknown"}`;
  return hasMessage(key) ? t(key) : t("team.source.unknown");
}

function fail(error: unknown): void {
  hapticNotify("error");
  const key = error instanceof ApiError ? `error.${error.code}` : "";
  showToast(hasMessage(key) ? t(key) : error instanceof ApiError ? error.message : t("error.generic"), "error");
}

function MemberRow({ member, onRevoke }: { member: Member; onRevoke: (member: Member) => void }) {
  return (
    <li class="row" data-testid="member-item" data-user-id={String(member.user_id)} data-role={member.role}>
      <span class="row-main">
        <span class="row-title">{memberName(member)}</span>
        <span class="row-subtitle">
          {member.username ? `@${member.username} · ` : ""}
          {sourceName(member.source)}
        </span>
      </span>
      <span class="chip" data-testid="member-role">
        {roleName(member.role)}
      </span>
      {member.revocable && (
        <button type="button" class="link-button destructive" data-testid="member-revoke" onClick={() => onRevoke(member)}>
          {t("team.revoke")}
        </button>
      )}
    </li>
  );
}

function InviteRow({ invite, onRevoke }: { invite: Invite; onRevoke: (invite: Invite) => void }) {
  const details = [
    invite.single_use ? t("team.invite.singleUse") : t("team.invite.multiUse", { uses: String(invite.uses) }),
    invite.expires_at ? t("team.invite.expires", { date: formatDateTime(new Date(invite.expires_at)) }) : "",
  ].filter(Boolean);
  return (
    <li class="row" data-testid="invite-item" data-invite-id={String(invite.invite_id)} data-role={invite.role}>
      <span class="row-main">
        <span class="row-title">{roleName(invite.role)}</span>
        <span class="row-subtitle">{details.join(" · ")}</span>
      </span>
      <button type="button" class="link-button destructive" data-testid="invite-revoke" onClick={() => onRevoke(invite)}>
        {t("team.revoke")}
      </button>
    </li>
  );
}

function InviteForm({ onCreate, saving }: { onCreate: (role: "analyst" | "viewer", singleUse: boolean, days: number) => void; saving: boolean }) {
  const [role, setRole] = useState<"analyst" | "viewer">("viewer");
  const [singleUse, setSingleUse] = useState(true);
  const [days, setDays] = useState<1 | 7 | 30>(7);
  return (
    <section class="card form" data-testid="invite-form">
      <label class="control control-block">
        <span class="control-label">{t("team.role")}</span>
        <select
          class="select"
          data-testid="invite-role"
          value={role}
          onChange={(event) => {
            const next = (event.currentTarget as HTMLSelectElement).value;
            if (next !== "analyst" && next !== "viewer") return;
            hapticSelection();
            setRole(next);
          }}
        >
          <option value="viewer">{t("role.viewer")}</option>
          <option value="analyst">{t("role.analyst")}</option>
        </select>
        <span class="stat-help">{t(role === "viewer" ? "team.role.viewer.help" : "team.role.analyst.help")}</span>
      </label>
      <label class="control control-check">
        <input
          type="checkbox"
          data-testid="invite-single-use"
          checked={singleUse}
          onChange={(event) => setSingleUse((event.currentTarget as HTMLInputElement).checked)}
        />
        <span>{t("team.singleUse")}</span>
      </label>
      <div class="control control-block">
        <span class="control-label">{t("team.validity")}</span>
        <div class="segmented" role="radiogroup" aria-label={t("team.validity")}>
          {VALIDITY.map((option) => (
            <button
              key={option.days}
              type="button"
              role="radio"
              aria-checked={option.days === days}
              class={option.days === days ? "segment segment-active" : "segment"}
              data-testid={`invite-valid-${option.days}`}
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
      <MainAction
        text={t("team.createInvite")}
        testId="main-create-invite"
        progress={saving}
        onClick={() => onCreate(role, singleUse, days)}
      />
    </section>
  );
}

export function TeamScreen({ channelId }: { channelId: number }) {
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const role = channels.data?.find((c) => c.channel_id === channelId)?.role ?? null;
  const [members, reloadMembers] = useAsync((signal) => listMembers(channelId, signal), [channelId]);
  const [invites, reloadInvites] = useAsync((signal) => listInvites(channelId, signal), [channelId]);
  const [adding, setAdding] = useState(false);
  const [saving, setSaving] = useState(false);
  const [created, setCreated] = useState<CreatedInvite | null>(null);

  const create = (inviteRole: "analyst" | "viewer", singleUse: boolean, days: number): void => {
    setSaving(true);
    createInvite(channelId, inviteRole, singleUse, days * DAY).then(
      (reply) => {
        hapticNotify("success");
        setSaving(false);
        setAdding(false);
        setCreated(reply);
        reloadInvites();
      },
      (error: unknown) => {
        setSaving(false);
        fail(error);
      },
    );
  };
  const removeMember = async (member: Member): Promise<void> => {
    if (!(await confirmAction(t("team.memberRevokeConfirm", { name: memberName(member) })))) return;
    try {
      await revokeMember(channelId, member.user_id);
      hapticNotify("success");
      reloadMembers();
    } catch (error) {
      fail(error);
    }
  };
  const removeInvite = async (invite: Invite): Promise<void> => {
    if (!(await confirmAction(t("team.inviteRevokeConfirm")))) return;
    try {
      await revokeInvite(channelId, invite.invite_id);
      hapticNotify("success");
      if (created?.invite.invite_id === invite.invite_id) setCreated(null);
      reloadInvites();
    } catch (error) {
      fail(error);
    }
  };

  // A role below admin (known from the channel list) gets an honest refusal, not a form.
  if (role !== null && !roleAtLeast(role, "admin")) {
    return (
      <main class="screen" data-testid="screen-team" data-channel-id={String(channelId)}>
        <BackLink />
        <ErrorState error={new ApiError(403, "FORBIDDEN", "forbidden")} onRetry={reloadMembers} />
      </main>
    );
  }

  return (
    <main class="screen" data-testid="screen-team" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("team.title")}</h1>
      <div class="cards">
        <h2 class="section-title">{t("team.members")}</h2>
        {members.status === "error" ? (
          <ErrorState error={members.error} onRetry={reloadMembers} />
        ) : members.data === null ? (
          <Skeleton rows={2} kind="row" />
        ) : (
          <ul class="section list" data-testid="member-list">
            {members.data.map((member) => (
              <MemberRow key={member.user_id} member={member} onRevoke={(m) => void removeMember(m)} />
            ))}
          </ul>
        )}
        <p class="footnote">{t("team.membersNote")}</p>
        <h2 class="section-title">{t("team.invites")}</h2>
        {created && (
          <CopyLink
            text={created.url ?? created.payload}
            testId="invite"
            note={created.url ? t("team.inviteOnce") : t("team.inviteOncePayload")}
          />
        )}
        {adding && <InviteForm onCreate={create} saving={saving} />}
        {invites.status === "error" ? (
          <ErrorState error={invites.error} onRetry={reloadInvites} />
        ) : invites.data === null ? (
          <Skeleton rows={1} kind="row" />
        ) : invites.data.length === 0 ? (
          <p class="card na" data-testid="invites-empty">
            {t("team.noInvites")}
          </p>
        ) : (
          <ul class="section list" data-testid="invite-list">
            {invites.data.map((invite) => (
              <InviteRow key={invite.invite_id} invite={invite} onRevoke={(i) => void removeInvite(i)} />
            ))}
          </ul>
        )}
      </div>
      {!adding && (
        <MainAction
          text={t("team.newInvite")}
          testId="main-new-invite"
          onClick={() => {
            setCreated(null);
            setAdding(true);
          }}
        />
      )}
    </main>
  );
}
