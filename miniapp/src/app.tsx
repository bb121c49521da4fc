import { useEffect, useState } from "preact/hooks";
import { signIn } from "./api";
import { ErrorState, Skeleton } from "./components/states";
import { setLanguage } from "./i18n";
import { goBack, parseRoute, replaceRoute, routeFromStartParam, useHash } from "./router";
import { ChannelDashboard } from "./screens/channel-dashboard";
import { ChannelList } from "./screens/channel-list";
import { ready, showBackButton } from "./telegram";

type SignInState = { status: "pending" } | { status: "done" } | { status: "failed"; error: unknown };

/** The deep link is followed once, on the first successful sign-in. */
let deepLinkHandled = false;

export function App() {
  const [signInState, setSignInState] = useState<SignInState>({ status: "pending" });
  const [attempt, setAttempt] = useState(0);
  const route = parseRoute(useHash());

  useEffect(() => {
    ready();
  }, []);

  useEffect(() => {
    let live = true;
    setSignInState({ status: "pending" });
    signIn().then(
      (session) => {
        if (!live) return;
        setLanguage(session.user.language_code);
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

  const onChannel = route.name === "channel";
  useEffect(() => (onChannel ? showBackButton(goBack) : undefined), [onChannel]);

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
  return route.name === "channel" ? (
    <ChannelDashboard key={route.channelId} channelId={route.channelId} />
  ) : (
    <ChannelList />
  );
}
