// Response shapes of the gateway's /api/v1 JSON API (docs/api.md).

export type UnavailableReason =
  | "NO_POSTS"
  | "NO_SAMPLES"
  | "TOO_FEW_POSTS"
  | "POST_TOO_YOUNG"
  | "ZERO_DENOMINATOR";

/** A number, or "not enough data" with the reason (null: unknown). Never 0 in place of unknown. */
export type Metric =
  | { value: number; unavailable_reason?: null }
  | { value: null; unavailable_reason: UnavailableReason | string | null };

export interface PeriodStats {
  start: string;
  end: string;
  posts: number;
  posts_with_samples: number;
  subscribers_start: Metric;
  subscribers_end: Metric;
  subscriber_growth: Metric;
  subscriber_growth_percent: Metric;
  views_per_post: Metric;
  forwards_per_post: Metric;
  reactions_per_post: Metric;
  replies_per_post: Metric;
  err: Metric;
  err24: Metric;
  er: Metric;
  reach_12h: Metric;
  reach_24h: Metric;
  reach_48h: Metric;
}

export interface ChannelOverview {
  channel_id: number;
  title: string;
  data_as_of: string | null;
  current: PeriodStats;
  previous: PeriodStats;
}

export type ChannelRole = "owner" | "admin" | "analyst" | "viewer" | "unspecified" | string;

export interface Channel {
  channel_id: number;
  title: string;
  username: string;
  role: ChannelRole;
  /** True when the caller holds a share token (read-only, this channel only). */
  shared?: boolean;
}

export interface User {
  user_id: number;
  first_name: string;
  username: string;
  language_code: string;
}

export interface Session {
  access_token: string;
  expires_at: string;
  user: User;
  start_param: string;
}

export interface ErrorBody {
  code: string;
  message: string;
}

export type PostSort =
  | "published_at"
  | "views"
  | "forwards"
  | "replies"
  | "reactions"
  | "er"
  | "virality"
  | "reach_12h"
  | "reach_24h"
  | "reach_48h"
  | "performance_index";

export interface PostSummary {
  message_id: number;
  published_at: string;
  media_type: string;
  text_preview: string;
  views: Metric;
  forwards: Metric;
  replies: Metric;
  reactions: Metric;
  er: Metric;
  virality: Metric;
  reach_12h: Metric;
  reach_24h: Metric;
  reach_48h: Metric;
  performance_index: Metric;
  rating: "viral" | "normal" | "underperforming" | string | null;
}

export interface PostPage {
  posts: PostSummary[];
  next_cursor: string | null;
  total: number;
}

export interface PostDetail {
  post: PostSummary;
  view_curve: { age_seconds: number; views: number }[];
  channel_median_curve: { age_seconds: number; views: Metric; posts: number }[];
  reactions: { emoji: string; count: number }[];
}

export interface BestTime {
  time_zone: string;
  slots: { weekday: number; hour: number; posts: number; score: Metric }[];
}

export interface SubscriberSeries {
  granularity: "hour" | "day" | string;
  points: { at: string; subscribers: Metric }[];
}

export interface NativeStatsEntry {
  collected_at: string;
  period: string;
  payload: Record<string, unknown>;
}

export type AlertKind =
  | "post_viral"
  | "post_underperforming"
  | "subscriber_drop"
  | "subscriber_milestone"
  | "collection_stalled";

export interface AlertRule {
  rule_id: number;
  channel_id: number;
  kind: AlertKind | string;
  threshold: number;
  created_at: string;
}

export interface Alert {
  alert_id: string;
  sequence: number;
  rule_id: number;
  kind: AlertKind | string;
  channel_id: number;
  message_id: number | null;
  text: string;
  data: Record<string, unknown>;
  deep_link: string;
  created_at: string;
}

/** Server → client messages of the live WebSocket. */
export type LiveMessage =
  | { type: "ready"; channel_id: number; expires_at: string; heartbeat_seconds: number }
  | { type: "overview"; kind: string; event_at: string | null; overview: ChannelOverview }
  | { type: "heartbeat"; at: string }
  | { type: "pong" };

export interface Member {
  user_id: number;
  first_name: string;
  last_name: string;
  username: string;
  role: ChannelRole;
  source: "telegram" | "invite" | "manual" | string | null;
  granted_at: string | null;
  revocable: boolean;
}

export interface Invite {
  invite_id: number;
  channel_id: number;
  role: "analyst" | "viewer" | string;
  single_use: boolean;
  expires_at: string | null;
  created_at: string;
  created_by: number | null;
  uses: number;
}

export interface CreatedInvite {
  invite: Invite;
  payload: string;
  url: string | null;
}

export interface AcceptedInvite {
  channel_id: number;
  role: ChannelRole;
  title: string;
}

export interface ShareLink {
  link_id: number;
  channel_id: number;
  created_by: number | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  status: "active" | "revoked" | "expired" | string;
}

export interface CreatedShareLink {
  link: ShareLink;
  token: string;
  url: string;
}

/** POST /api/v1/channels/{id}/export-links: a URL for Telegram's downloadFile. */
export interface ExportLink {
  url: string;
  expires_at: string;
  file_name: string;
}

/** POST /api/v1/share/exchange. */
export interface ShareExchange {
  access_token: string;
  expires_at: string;
  channel_id: number;
  channel: { channel_id: number; title: string; username: string };
  link_expires_at: string;
}
