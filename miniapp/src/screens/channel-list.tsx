import { getSubscribers } from "../api";
import type { Channel } from "../api-types";
import { myChannels, refreshChannels } from "../channels";
import { Sparkline } from "../charts/sparkline";
import { ErrorState, Skeleton } from "../components/states";
import { formatCount } from "../format";
import { useAsync } from "../hooks";
import { hasMessage, LANGUAGES, t, useLanguage, type Language } from "../i18n";
import { hrefFor, navigate } from "../router";
import { hapticImpact, hapticSelection } from "../telegram";
import { writePref } from "../prefs";
import { setLanguage } from "../i18n";

const AVATAR_COLOURS = 7;

function roleLabel(role: string): string {
  const key = `role.${role}`;
  return hasMessage(key) ? t(key) : role;
}

/** Subscribers over the server's default 30 days, as a sparkline; nothing while loading. */
function ChannelTrend({ channelId }: { channelId: number }) {
  const [state] = useAsync((signal) => getSubscribers(channelId, null, "day", signal), [channelId]);
  if (state.data === null) return <span class="sparkline-empty" aria-hidden="true" />;
  const values = state.data.points.map((p) => p.subscribers.value);
  const last = [...values].reverse().find((v): v is number => v !== null);
  return (
    <span class="row-trend">
      <Sparkline
        values={values}
        label={t("channels.trend")}
        testId="channel-sparkline"
      />
      {last !== undefined && (
        <span class="row-trend-value" data-testid="channel-subscribers" data-value={String(last)}>
          {formatCount(last)}
        </span>
      )}
    </span>
  );
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
        <span class={`avatar avatar-${Math.abs(channel.channel_id) % AVATAR_COLOURS}`} aria-hidden="true">
          {Array.from(channel.title.trim())[0] ?? "#"}
        </span>
        <span class="row-main">
          <span class="row-title" data-testid="channel-title">
            {channel.title}
          </span>
          <span class="row-subtitle">
            <span class="chip" data-testid="channel-role" data-value={channel.role}>
              {roleLabel(channel.role)}
            </span>{" "}
            <span data-testid="channel-username">
              {channel.username ? `@${channel.username}` : t("channels.private")}
            </span>
          </span>
        </span>
        <ChannelTrend channelId={channel.channel_id} />
        <span class="chevron" aria-hidden="true">
          ›
        </span>
      </a>
    </li>
  );
}

/** EN | RU | UZ, remembered in CloudStorage (or localStorage outside Telegram). */
function LanguageSwitch() {
  const current = useLanguage();
  const choose = (code: Language): void => {
    if (code === current) return;
    hapticSelection();
    writePref("language", code);
    setLanguage(code);
  };
  return (
    <div class="language">
      <h2 class="section-title" id="label-language">
        {t("lang.label")}
      </h2>
      <div class="segmented" role="radiogroup" aria-labelledby="label-language">
        {LANGUAGES.map((language) => (
          <button
            key={language.code}
            type="button"
            role="radio"
            lang={language.code}
            aria-checked={language.code === current}
            class={language.code === current ? "segment segment-active" : "segment"}
            data-testid={`lang-${language.code}`}
            onClick={() => choose(language.code)}
          >
            {language.name}
          </button>
        ))}
      </div>
    </div>
  );
}

export function ChannelList() {
  const [state, reload] = useAsync((signal) => myChannels(signal), []);
  const retry = (): void => {
    refreshChannels();
    reload();
  };
  return (
    <main class="screen" data-testid="screen-channels">
      <h1 class="title">{t("channels.title")}</h1>
      {state.status === "error" ? (
        <ErrorState error={state.error} onRetry={retry} />
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
      <LanguageSwitch />
    </main>
  );
}
