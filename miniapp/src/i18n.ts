// Interface strings, one dictionary per language, chosen from the Telegram user's
// language_code. English is the reference: every other dictionary must have its keys.

const en = {
  "channels.title": "Your channels",
  "channels.hint": "Tap a channel to see its statistics.",
  "channels.empty": "No channels yet",
  "channels.emptyHint": "Add the bot to your channel as an administrator and it will appear here.",
  "channels.private": "Private channel",
  "role.owner": "Owner",
  "role.admin": "Admin",
  "role.analyst": "Analyst",
  "role.viewer": "Viewer",
  "nav.back": "Channels",
  "period.label": "Period",
  "period.days7": "7 days",
  "period.days30": "30 days",
  "freshness.updated": "Updated {time}",
  "freshness.never": "No data collected yet",
  "metric.previous": "Previous period",
  "metric.change": "Change against the previous period",
  "metric.subscribers": "Subscribers",
  "metric.subscribers.growth": "Growth in this period",
  "metric.subscribers.help":
    "Subscribers at the end of the period; growth is end − start, and that ÷ start × 100.",
  "metric.posts": "Posts",
  "metric.posts.help": "Posts published in the period; deleted posts are not counted.",
  "metric.views_per_post": "Views per post",
  "metric.views_per_post.help":
    "Total views of posts published in the period ÷ number of posts; views are not unique.",
  "metric.forwards_per_post": "Forwards per post",
  "metric.forwards_per_post.help": "Total forwards of posts published in the period ÷ number of posts.",
  "metric.reactions_per_post": "Reactions per post",
  "metric.reactions_per_post.help":
    "Total reactions to posts published in the period ÷ number of posts.",
  "metric.footnote":
    "Counters are the latest values at the end of each period. Telegram counts a viewer again after a while and on every device, so views are an upper bound of the people reached.",
  "na.title": "Not enough data",
  "na.inline": "not enough data ({reason})",
  "na.NO_POSTS": "no posts in the period",
  "na.NO_SAMPLES": "nothing measured yet",
  "na.TOO_FEW_POSTS": "too few posts",
  "na.POST_TOO_YOUNG": "posts are too recent",
  "na.ZERO_DENOMINATOR": "the period started with zero",
  "na.unknown": "not measurable yet",
  "error.title": "Something went wrong",
  "error.retry": "Try again",
  "error.CHANNEL_NOT_FOUND": "This channel was not found, or you have no access to it.",
  "error.NETWORK_ERROR": "No connection to the server. Check your internet connection.",
  "error.NOT_IN_TELEGRAM": "Open this app from the bot in Telegram.",
  "error.UNAUTHORIZED": "Your session has expired. Close the app and open it again.",
  "error.generic": "The server could not answer. Please try again.",
} as const;

export type MessageKey = keyof typeof en;
type Dictionary = Readonly<Record<MessageKey, string>>;

const dictionaries: Readonly<Record<string, Dictionary>> = { en };

let language = "en";
let dictionary: Dictionary = en;

/** Picks the dictionary for a Telegram language_code ("en", "ru", "pt-br"...). */
export function setLanguage(code: string | null | undefined): void {
  const base = (code ?? "").toLowerCase().split("-")[0] ?? "";
  language = base in dictionaries ? base : "en";
  dictionary = dictionaries[language] ?? en;
  document.documentElement.lang = language;
}

/** The BCP 47 tag for Intl formatting, matching the chosen dictionary. */
export function locale(): string {
  return language;
}

export function hasMessage(key: string): key is MessageKey {
  return key in dictionary;
}

/** The string for `key` with `{name}` placeholders replaced. */
export function t(key: MessageKey, params?: Readonly<Record<string, string>>): string {
  const text = dictionary[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}
