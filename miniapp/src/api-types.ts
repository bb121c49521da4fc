// Response shapes of the gateway's /api/v1 JSON API.

export type UnavailableReason =
  | "NO_POSTS"
  | "NO_SAMPLES"
  | "TOO_FEW_POSTS"
  | "POST_TOO_YOUNG"
  | "ZERO_DENOMINATOR";

/** A number, or "not enough data" with the reason. Never 0 in place of unknown. */
export type Metric =
  | { value: number; unavailable_reason?: null }
  | { value: null; unavailable_reason: UnavailableReason | string };

export interface PeriodStats {
  start: string;
  end: string;
  posts: number;
  subscribers_start: Metric;
  subscribers_end: Metric;
  subscriber_growth: Metric;
  subscriber_growth_percent: Metric;
  views_per_post: Metric;
  forwards_per_post: Metric;
  reactions_per_post: Metric;
  replies_per_post: Metric;
}

export interface ChannelOverview {
  channel_id: number;
  title: string;
  data_as_of: string | null;
  current: PeriodStats;
  previous: PeriodStats;
}

export type ChannelRole = "owner" | "admin" | "analyst" | "viewer" | string;

export interface Channel {
  channel_id: number;
  title: string;
  username: string | null;
  role: ChannelRole;
}

export interface User {
  user_id: number;
  first_name: string;
  username: string | null;
  language_code: string | null;
}

export interface Session {
  access_token: string;
  expires_at: string;
  user: User;
  start_param: string | null;
}

export interface ErrorBody {
  code: string;
  message: string;
}
