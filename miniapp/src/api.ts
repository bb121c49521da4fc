// The gateway's JSON API (docs/api.md): Telegram initData -> access token, then
// bearer calls.

import type {
  AcceptedInvite,
  AlertRule,
  Alert,
  AlertKind,
  BestTime,
  Channel,
  ChannelOverview,
  CreatedInvite,
  CreatedShareLink,
  ErrorBody,
  ExportLink,
  Invite,
  Member,
  NativeStatsEntry,
  PostDetail,
  PostPage,
  PostSort,
  Session,
  ShareExchange,
  ShareLink,
  SubscriberSeries,
} from "./api-types";
import { isDeadLinkCode, markLinkDead, setSharedChannel, shareToken } from "./share";
import { initData } from "./telegram";

const BASE = "/api/v1";

/** An API failure with the gateway's machine-readable code (or a client-side one). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

function isErrorBody(body: unknown): body is ErrorBody {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as ErrorBody).code === "string" &&
    typeof (body as ErrorBody).message === "string"
  );
}

async function toApiError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  if (isErrorBody(body)) return new ApiError(response.status, body.code, body.message);
  return new ApiError(response.status, `HTTP_${response.status}`, response.statusText);
}

async function fetchOk(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(BASE + path, init);
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(0, "NETWORK_ERROR", String(error));
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (isDeadLinkCode(error.code)) markLinkDead(error.code);
    throw error;
  }
  return response;
}

async function readJson<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(response.status, "BAD_RESPONSE", "The server sent a response that is not JSON");
  }
}

async function send<T>(path: string, init: RequestInit): Promise<T> {
  return readJson<T>(await fetchOk(path, init));
}

/** Telegram's raw initData, or outside Telegram the gateway's development login. */
async function launchData(): Promise<string> {
  const fromTelegram = initData();
  if (fromTelegram) return fromTelegram;
  try {
    const dev = await send<{ init_data: string }>("/dev/init-data", { method: "GET" });
    return dev.init_data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ApiError(404, "NOT_IN_TELEGRAM", "Open this app from Telegram");
    }
    throw error;
  }
}

let session: Session | null = null;
let signingIn: Promise<Session> | null = null;

/**
 * The shared view's sign-in: exchanges the share link for a read-only token for one
 * channel. There is no refresh; the link is exchanged again before expiry or on a 401.
 */
async function exchangeShareLink(token: string): Promise<Session> {
  const reply = await send<ShareExchange>("/share/exchange", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  setSharedChannel({
    channelId: reply.channel_id,
    title: reply.channel.title,
    username: reply.channel.username,
    linkExpiresAt: reply.link_expires_at,
  });
  return {
    access_token: reply.access_token,
    expires_at: reply.expires_at,
    user: { user_id: 0, first_name: "", username: "", language_code: navigator.language },
    start_param: "",
  };
}

/**
 * Exchanges initData (or, in the shared view, the share link) for an access token;
 * concurrent callers share one exchange. The shared view never uses Telegram's or the
 * development login.
 */
export function signIn(): Promise<Session> {
  signingIn ??= (async () => {
    try {
      const share = shareToken();
      const fresh = share
        ? await exchangeShareLink(share)
        : await send<Session>("/auth/telegram", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ init_data: await launchData() }),
          });
      session = fresh;
      return fresh;
    } finally {
      signingIn = null;
    }
  })();
  return signingIn;
}

/** Drops the session the server refused (a live socket closed with 4401). */
export function forgetSession(): void {
  session = null;
}

/** A token valid for at least another minute (for the live socket's auth message). */
export async function freshToken(): Promise<string> {
  const current = session;
  if (current && Date.parse(current.expires_at) - Date.now() > 60_000) return current.access_token;
  session = null;
  return (await signIn()).access_token;
}

interface CallOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** The token must stay valid this long (default 30 s). */
  validForMs?: number;
}

function requestInit(current: Session, options: CallOptions): RequestInit {
  const headers: Record<string, string> = { Authorization: `Bearer ${current.access_token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  return {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    signal: options.signal ?? null,
  };
}

/** The current session, renewed when it ends within `validForMs` (share tokens have no refresh). */
async function currentSession(validForMs = 30_000): Promise<Session> {
  const current = session;
  if (current && Date.parse(current.expires_at) - Date.now() > validForMs) return current;
  session = null;
  return signIn();
}

/** A call with the access token; on 401 signs in again once and retries. */
async function authorized(path: string, options: CallOptions): Promise<Response> {
  const current = await currentSession(options.validForMs);
  try {
    return await fetchOk(path, requestInit(current, options));
  } catch (error) {
    // A dead share link stays dead: exchanging it again cannot help.
    if (!(error instanceof ApiError && error.status === 401) || isDeadLinkCode(error.code)) throw error;
    if (session === current) session = null;
    const renewed = session ?? (await signIn());
    return fetchOk(path, requestInit(renewed, options));
  }
}

async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  return readJson<T>(await authorized(path, options));
}

function query(params: Record<string, string | null | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => Boolean(entry[1]));
  return defined.length ? `?${new URLSearchParams(defined)}` : "";
}

export interface Period {
  start: string;
  end: string;
}

export async function listChannels(signal?: AbortSignal): Promise<Channel[]> {
  const body = await call<{ channels: Channel[] }>("/channels", { signal });
  return body.channels;
}

/** The overview of a channel for `period`, or the server's default (last 7 days). */
export function getOverview(channelId: number, period: Period | null, signal?: AbortSignal): Promise<ChannelOverview> {
  return call(`/channels/${channelId}/overview${query({ start: period?.start, end: period?.end })}`, { signal });
}

export function getSubscribers(
  channelId: number,
  period: Period | null,
  granularity: "auto" | "hour" | "day",
  signal?: AbortSignal,
): Promise<SubscriberSeries> {
  const params = query({ start: period?.start, end: period?.end, granularity });
  return call(`/channels/${channelId}/subscribers${params}`, { signal });
}

export interface PostQuery {
  sort: PostSort;
  order: "asc" | "desc";
  mediaTypes: readonly string[];
  period: Period | null;
  cursor: string | null;
}

export function listPosts(channelId: number, q: PostQuery, signal?: AbortSignal): Promise<PostPage> {
  const params = query({
    sort: q.sort,
    order: q.order,
    media_type: q.mediaTypes.join(","),
    start: q.period?.start,
    end: q.period?.end,
    cursor: q.cursor,
    limit: "30",
  });
  return call(`/channels/${channelId}/posts${params}`, { signal });
}

export function getPost(channelId: number, messageId: number, signal?: AbortSignal): Promise<PostDetail> {
  return call(`/channels/${channelId}/posts/${messageId}`, { signal });
}

export function getBestTime(channelId: number, signal?: AbortSignal): Promise<BestTime> {
  return call(`/channels/${channelId}/best-time`, { signal });
}

export async function listNativeStats(channelId: number, signal?: AbortSignal): Promise<NativeStatsEntry[]> {
  const body = await call<{ entries: NativeStatsEntry[] }>(`/channels/${channelId}/native-stats`, { signal });
  return body.entries;
}

export async function listAlertRules(channelId: number, signal?: AbortSignal): Promise<AlertRule[]> {
  const body = await call<{ rules: AlertRule[] }>(`/channels/${channelId}/alert-rules`, { signal });
  return body.rules;
}

export function createAlertRule(channelId: number, kind: AlertKind, threshold: number | null): Promise<AlertRule> {
  return call(`/channels/${channelId}/alert-rules`, { method: "POST", body: { kind, threshold } });
}

export async function deleteAlertRule(channelId: number, ruleId: number): Promise<void> {
  await authorized(`/channels/${channelId}/alert-rules/${ruleId}`, { method: "DELETE" });
}

export async function listAlerts(channelId: number, signal?: AbortSignal): Promise<Alert[]> {
  const body = await call<{ alerts: Alert[] }>(`/channels/${channelId}/alerts${query({ limit: "20" })}`, { signal });
  return body.alerts;
}

/** The posts CSV of `period` as a Blob (the whole stream; a broken stream rejects). */
export async function exportCsv(channelId: number, period: Period | null): Promise<Blob> {
  const response = await authorized(
    `/channels/${channelId}/export.csv${query({ start: period?.start, end: period?.end })}`,
    {},
  );
  try {
    return await response.blob();
  } catch (error) {
    throw new ApiError(0, "NETWORK_ERROR", String(error));
  }
}

/**
 * A short-lived URL of the posts CSV of `period` that needs no token header, for
 * Telegram's downloadFile. A link lives no longer than the token it is made with, so the
 * token must outlast the user's answer to Telegram's download prompt: two minutes.
 */
export function createExportLink(channelId: number, period: Period | null): Promise<ExportLink> {
  const params = query({ start: period?.start, end: period?.end });
  return call(`/channels/${channelId}/export-links${params}`, { method: "POST", validForMs: 120_000 });
}

export async function listMembers(channelId: number, signal?: AbortSignal): Promise<Member[]> {
  const body = await call<{ members: Member[] }>(`/channels/${channelId}/members`, { signal });
  return body.members;
}

export async function revokeMember(channelId: number, userId: number): Promise<boolean> {
  const body = await call<{ revoked: boolean }>(`/channels/${channelId}/members/${userId}`, { method: "DELETE" });
  return body.revoked;
}

export async function listInvites(channelId: number, signal?: AbortSignal): Promise<Invite[]> {
  const body = await call<{ invites: Invite[] }>(`/channels/${channelId}/invites`, { signal });
  return body.invites;
}

export function createInvite(
  channelId: number,
  role: "analyst" | "viewer",
  singleUse: boolean,
  validForSeconds: number | null,
): Promise<CreatedInvite> {
  return call(`/channels/${channelId}/invites`, {
    method: "POST",
    body: { role, single_use: singleUse, valid_for_seconds: validForSeconds },
  });
}

export async function revokeInvite(channelId: number, inviteId: number): Promise<boolean> {
  const body = await call<{ revoked: boolean }>(`/channels/${channelId}/invites/${inviteId}`, { method: "DELETE" });
  return body.revoked;
}

/** Posts an `inv_...` start parameter: the caller's role on the channel now. */
export function acceptInvite(payload: string): Promise<AcceptedInvite> {
  return call("/invites/accept", { method: "POST", body: { payload } });
}

export async function listShareLinks(channelId: number, signal?: AbortSignal): Promise<ShareLink[]> {
  const body = await call<{ links: ShareLink[] }>(
    `/channels/${channelId}/share-links${query({ include_inactive: "true" })}`,
    { signal },
  );
  return body.links;
}

export function createShareLink(channelId: number, ttlSeconds: number | null): Promise<CreatedShareLink> {
  return call(`/channels/${channelId}/share-links`, { method: "POST", body: { ttl_seconds: ttlSeconds } });
}

export async function revokeShareLink(channelId: number, linkId: number): Promise<boolean> {
  const body = await call<{ revoked: boolean }>(`/channels/${channelId}/share-links/${linkId}`, { method: "DELETE" });
  return body.revoked;
}
