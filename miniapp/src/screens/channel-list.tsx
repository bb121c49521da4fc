import { listChannels } from "../api";
import type { Channel } from "../api-types";
import { ErrorState, Skeleton } from "../components/states";
import { useAsync } from "../hooks";
import { hasMessage, t } from "../i18n";
import { hrefFor, navigate } from "../router";
import { hapticImpact } from "../telegram";

const AVATAR_COLOURS = 7;

function roleLabel(role: string): string {
  const key = `role.${role}`;
  return hasMessage(key) ? t(key) : role;
}

function ChannelRow({ channel }: { channel: Channel }) {
  const route = { name: "channel", channelId: channel.channel_id } as const;
  const open = (event: MouseEvent): void => {
    event.preventDefault();
    hapticImpact();
    navigate(route);
  };
  return (
    <li>
      <a
        class="row"
        href={hrefFor(route)}
        onClick={open}
        data-testid="channel-item"
        data-channel-id={String(channel.channel_id)}
      >
        <span class={`avatar avatar-${channel.channel_id % AVATAR_COLOURS}`} aria-hidden="true">
          {Array.from(channel.title.trim())[0] ?? "#"}
        </span>
        <span class="row-main">
          <span class="row-title" data-testid="channel-title">
            {channel.title}
          </span>
          <span class="row-subtitle" data-testid="channel-username">
            {channel.username ? `@${channel.username}` : t("channels.private")}
          </span>
        </span>
        <span class="chip" data-testid="channel-role" data-value={channel.role}>
          {roleLabel(channel.role)}
        </span>
        <span class="chevron" aria-hidden="true">
          ›
        </span>
      </a>
    </li>
  );
}

export function ChannelList() {
  const [state, reload] = useAsync(listChannels, []);
  return (
    <main class="screen" data-testid="screen-channels">
      <h1 class="title">{t("channels.title")}</h1>
      {state.status === "error" ? (
        <ErrorState error={state.error} onRetry={reload} />
      ) : state.data === null ? (
        <Skeleton rows={3} kind="row" />
      ) : state.data.length === 0 ? (
        <div class="state" data-testid="channels-empty">
          <h2 class="state-title">{t("channels.empty")}</h2>
          <p class="state-text">{t("channels.emptyHint")}</p>
        </div>
      ) : (
        <>
          <p class="hint">{t("channels.hint")}</p>
          <ul class="section list">
            {state.data.map((channel) => (
              <ChannelRow key={channel.channel_id} channel={channel} />
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
