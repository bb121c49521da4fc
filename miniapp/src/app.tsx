import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { acceptInvite, ApiError, signIn } from "./api";
import { refreshChannels } from "./channels";
import { SharedBanner, SharedLinkDead } from "./components/shared";
import { ErrorState, Skeleton } from "./components/states";
import { showToast, Toasts } from "./components/toast";
import { hasMessage, setLanguage, supportedLanguage, t, useLanguage } from "./i18n";
import { Lazy } from "./lazy";
import { loadPrefs } from "./prefs";
import {
  goBack,
  invitePayload,
  parseRoute,
  replaceRoute,
  routeFromStartParam,
  useHash,
  type Route,
} from "./router";
import { deadLinkCode, isDeadLinkCode, isSharedView, onShareChange, sharedChannel, shareToken } from "./share";
import { ChannelDashboard } from "./screens/channel-dashboard";
import { ChannelList } from "./screens/channel-list";
import { hapticNotify, ready, showBackButton } from "./telegram";

type SignInState = { status: "pending" } | { status: "done" } | { status: "failed"; error: unknown };

/** The deep link is followed once, on the first successful sign-in. */
let deepLinkHandled = false;

const loadPosts = () => import("./screens/posts").then((m) => m.PostsScreen);
const loadPost = () => import("./screens/post-detail").then((m) => m.PostScreen);
const loadBestTime = () => import("./screens/best-time").then((m) => m.BestTimeScreen);
const loadNative = () => import("./screens/native-stats").then((m) => m.NativeStatsScreen);
const loadAlerts = () => import("./screens/alerts").then((m) => m.AlertsScreen);
const loadTeam = () => import("./screens/team").then((m) => m.TeamScreen);
const loadShareLinks = () => import("./screens/share-links").then((m) => m.ShareLinksScreen);

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case "channels":
      return <ChannelList />;
    case "channel":
      return <ChannelDashboard key={route.channelId} channelId={route.channelId} />;
    case "post":
      return <Lazy load={loadPost} props={{ channelId: route.channelId, messageId: route.messageId }} />;
    case "section":
      switch (route.section) {
        case "posts":
          return <Lazy load={loadPosts} props={{ channelId: route.channelId }} />;
        case "best-time":
          return <Lazy load={loadBestTime} props={{ channelId: route.channelId }} />;
        case "native":
          return <Lazy load={loadNative} props={{ channelId: route.channelId }} />;
        case "alerts":
          return <Lazy load={loadAlerts} props={{ channelId: route.channelId }} />;
        case "team":
          return <Lazy load={loadTeam} props={{ channelId: route.channelId }} />;
        case "share":
          return <Lazy load={loadShareLinks} props={{ channelId: route.channelId }} />;
      }
  }
}

/** In the shared view only the link's channel and its read-only sections exist. */
function sharedRouteAllowed(route: Route, channelId: number): boolean {
  if (route.name === "channels") return false;
  if (route.channelId !== channelId) return false;
  return !(route.name === "section" && (route.section === "alerts" || route.section === "team" || route.section === "share"));
}

/** Follows an `inv_...` start parameter: accept, then open the channel (or say why not). */
async function followInvite(payload: string): Promise<void> {
  try {
    const accepted = await acceptInvite(payload);
    refreshChannels();
    hapticNotify("success");
    const role = `role.${accepted.role}`;
    showToast(t("invite.accepted", { title: accepted.title, role: hasMessage(role) ? t(role) : accepted.role }));
    replaceRoute({ name: "channel", channelId: accepted.channel_id });
  } catch (error) {
    hapticNotify("error");
    const key = error instanceof ApiError ? `error.${error.code}` : "";
    const text = hasMessage(key) ? t(key) : error instanceof ApiError ? error.message : t("error.generic");
    showToast(text, "error");
  }
}

function useDeadLink(): string | null {
  const [code, setCode] = useState(deadLinkCode);
  useEffect(() => onShareChange(() => setCode(deadLinkCode())), []);
  return code;
}

export function App() {
  const [signInState, setSignInState] = useState<SignInState>({ status: "pending" });
  const [attempt, setAttempt] = useState(0);
  const route = parseRoute(useHash());
  useLanguage();
  const shared = isSharedView();
  const deadCode = useDeadLink();

  useEffect(() => {
    ready();
  }, []);

  useEffect(() => {
    let live = true;
    setSignInState({ status: "pending" });
    Promise.all([signIn(), loadPrefs()]).then(
      ([session, prefs]) => {
        if (!live) return;
        setLanguage(supportedLanguage(prefs.language) ?? session.user.language_code);
        const invite = deepLinkHandled ? null : invitePayload(session.start_param);
        if (invite) void followInvite(invite);
        const deepLink = routeFromStartParam(session.start_param);
        if (!deepLinkHandled && deepLink && parseRoute(location.hash).name === "channels") {
          replaceRoute(deepLink);
        }
        deepLinkHandled = true;
        setSignInState({ status: "done" });
      },
      (error: unknown) => {
        if (live) setSignInState({ status: "failed", error });
      },
    );
    return () => {
      live = false;
    };
  }, [attempt]);

  // The shared view's root is its channel's dashboard; anything else redirects there.
  const sharedWith = shared && signInState.status === "done" ? sharedChannel() : null;
  const misrouted = sharedWith !== null && !sharedRouteAllowed(route, sharedWith.channelId);
  useEffect(() => {
    if (misrouted && sharedWith) replaceRoute({ name: "channel", channelId: sharedWith.channelId });
  }, [misrouted, sharedWith?.channelId]);

  const nested = shared ? route.name !== "channels" && route.name !== "channel" : route.name !== "channels";
  // A layout effect: Telegram's back button changes with the screen, in the same task
  // that renders it, not a frame later (an e2e test saw it still shown on the root
  // screen right after that screen appeared).
  useLayoutEffect(() => (nested ? showBackButton(goBack) : undefined), [nested]);
  // A new screen starts at the top, as in Telegram's own navigation.
  const path = location.hash;
  useEffect(() => window.scrollTo(0, 0), [path]);

  if (shared && (deadCode !== null || !shareToken())) {
    return <SharedLinkDead code={deadCode ?? "SHARE_LINK_UNKNOWN"} />;
  }
  if (signInState.status === "failed") {
    const error = signInState.error;
    if (shared && error instanceof ApiError && isDeadLinkCode(error.code)) return <SharedLinkDead code={error.code} />;
    return (
      <main class="screen">
        <ErrorState error={signInState.error} onRetry={() => setAttempt((n) => n + 1)} />
      </main>
    );
  }
  if (signInState.status === "pending") {
    return (
      <main class="screen" data-testid="screen-signing-in">
        <div class="skeleton skeleton-title" />
        <Skeleton rows={3} kind="row" />
      </main>
    );
  }
  if (misrouted) return null;
  return (
    <>
      {sharedWith && <SharedBanner linkExpiresAt={sharedWith.linkExpiresAt} />}
      <Screen route={route} />
      <Toasts />
    </>
  );
}
