// Hash routing. Inside Telegram the first hash carries the launch parameters
// (#tgWebAppData=...); anything that is not a route shows the channel list.
//   #/                               channel list
//   #/channel/ID                     dashboard
//   #/channel/ID/posts               posts
//   #/channel/ID/post/MID            post detail
//   #/channel/ID/best-time           best time to post
//   #/channel/ID/native              Telegram's native statistics
//   #/channel/ID/alerts              alert settings
//   #/channel/ID/team                members and invites (admins and owners)
//   #/channel/ID/share               share links (admins and owners)
// The shared view (/s#shr_...) uses the same routes for its one channel.

import { useEffect, useState } from "preact/hooks";

export type Section = "posts" | "best-time" | "native" | "alerts" | "team" | "share";

export type Route =
  | { name: "channels" }
  | { name: "channel"; channelId: number }
  | { name: "section"; channelId: number; section: Section }
  | { name: "post"; channelId: number; messageId: number };

const CHANNELS: Route = { name: "channels" };
const SECTIONS: readonly Section[] = ["posts", "best-time", "native", "alerts", "team", "share"];

function isSection(text: string): text is Section {
  return (SECTIONS as readonly string[]).includes(text);
}

export function parseRoute(hash: string): Route {
  const match = /^#\/channel\/(-?\d+)(?:\/([a-z-]+)(?:\/(\d+))?)?$/.exec(hash);
  if (!match) return CHANNELS;
  const channelId = Number(match[1]);
  const [, , part, messageId] = match;
  if (part === undefined) return { name: "channel", channelId };
  if (part === "post" && messageId !== undefined) return { name: "post", channelId, messageId: Number(messageId) };
  if (isSection(part) && messageId === undefined) return { name: "section", channelId, section: part };
  return CHANNELS;
}

/** A `startapp` invite (`inv_...`), which the app accepts after sign-in. */
export function invitePayload(param: string | null | undefined): string | null {
  return param && /^inv_[A-Za-z0-9_-]{1,60}$/.test(param) ? param : null;
}

/** A `startapp` deep link: `channel_<id>` opens the channel, `channel_<id>_post_<mid>` a post. */
export function routeFromStartParam(param: string | null | undefined): Route | null {
  const match = /^channel_(-?\d+)(?:_post_(\d+))?$/.exec(param ?? "");
  if (!match) return null;
  const channelId = Number(match[1]);
  return match[2] === undefined ? { name: "channel", channelId } : { name: "post", channelId, messageId: Number(match[2]) };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case "channels":
      return "#/";
    case "channel":
      return `#/channel/${route.channelId}`;
    case "section":
      return `#/channel/${route.channelId}/${route.section}`;
    case "post":
      return `#/channel/${route.channelId}/post/${route.messageId}`;
  }
}

/** Where Back leads from `route` when there is no in-app history to pop. */
export function parentOf(route: Route): Route | null {
  switch (route.name) {
    case "channels":
      return null;
    case "channel":
      return CHANNELS;
    case "section":
      return { name: "channel", channelId: route.channelId };
    case "post":
      return { name: "section", channelId: route.channelId, section: "posts" };
  }
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

/** Back: pops our own history entry, or (after a deep link) replaces it with the parent. */
export function goBack(): void {
  const state: unknown = history.state;
  if (typeof state === "object" && state !== null && "inApp" in state) {
    history.back();
    return;
  }
  const parent = parentOf(parseRoute(location.hash));
  if (parent) replaceRoute(parent);
}
