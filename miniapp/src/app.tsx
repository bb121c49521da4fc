import { useEffect, useState } from "preact/hooks";
import { signIn } from "./api";
import { ErrorState, Skeleton } from "./components/states";
import { Toasts } from "./components/toast";
import { setLanguage, supportedLanguage, useLanguage } from "./i18n";
import { Lazy } from "./lazy";
import { loadPrefs } from "./prefs";
import { goBack, parseRoute, replaceRoute, routeFromStartParam, useHash, type Route } from "./router";
import { ChannelDashboard } from "./screens/channel-dashboard";
import { ChannelList } from "./screens/channel-list";
import { ready, showBackButton } from "./telegram";

type SignInState = { status: "pending" } | { status: "done" } | { status: "failed"; error: unknown };

/** The deep link is followed once, on the first successful sign-in. */
let deepLinkHandled = false;

const loadPosts = () => import("./screens/posts").then((m) => m.PostsScreen);
const loadPost = () => import("./screens/post-detail").then((m) => m.PostScreen);
const loadBestTime = () => import("./screens/best-time").then((m) => m.BestTimeScreen);
const loadNative = () => import("./screens/native-stats").then((m) => m.NativeStatsScreen);
const loadAlerts = () => import("./screens/alerts").then((m) => m.AlertsScreen);

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
      }
  }
}

export function App() {
  const [signInState, setSignInState] = useState<SignInState>({ status: "pending" });
  const [attempt, setAttempt] = useState(0);
  const route = parseRoute(useHash());
  useLanguage();

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

  const nested = route.name !== "channels";
  useEffect(() => (nested ? showBackButton(goBack) : undefined), [nested]);
  // A new screen starts at the top, as in Telegram's own navigation.
  const path = location.hash;
  useEffect(() => window.scrollTo(0, 0), [path]);

  if (signInState.status === "failed") {
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
  return (
    <>
      <Screen route={route} />
      <Toasts />
    </>
  );
}
