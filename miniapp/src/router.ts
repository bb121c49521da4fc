// Hash routing: #/ is the channel list, #/channel/ID a channel's dashboard.
// Inside Telegram the first hash carries the launch parameters (#tgWebAppData=...);
// anything that is not a route shows the channel list.

import { useEffect, useState } from "preact/hooks";

export type Route = { name: "channels" } | { name: "channel"; channelId: number };

const CHANNELS: Route = { name: "channels" };

export function parseRoute(hash: string): Route {
  const match = /^#\/channel\/(\d+)$/.exec(hash);
  return match ? { name: "channel", channelId: Number(match[1]) } : CHANNELS;
}

/** A `startapp` deep link: `channel_<id>` opens that channel. */
export function routeFromStartParam(param: string | null | undefined): Route | null {
  const match = /^channel_(\d+)$/.exec(param ?? "");
  return match ? { name: "channel", channelId: Number(match[1]) } : null;
}

export function hrefFor(route: Route): string {
  return route.name === "channel" ? `#/channel/${route.channelId}` : "#/";
}

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

window.addEventListener("hashchange", notify);
window.addEventListener("popstate", notify);

/** The current location hash, re-rendering the caller when it changes. */
export function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = (): void => setHash(location.hash);
    listeners.add(update);
    update();
    return () => {
      listeners.delete(update);
    };
  }, []);
  return hash;
}

/** Opens `route` as a new history entry that `goBack` can return from. */
export function navigate(route: Route): void {
  history.pushState({ inApp: true }, "", hrefFor(route));
  notify();
}

export function replaceRoute(route: Route): void {
  history.replaceState(null, "", hrefFor(route));
  notify();
}

/** Back to the channel list: pops our own entry, or replaces a deep-linked one. */
export function goBack(): void {
  const state: unknown = history.state;
  if (typeof state === "object" && state !== null && "inApp" in state) history.back();
  else replaceRoute(CHANNELS);
}
