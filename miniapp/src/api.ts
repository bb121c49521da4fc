// The gateway's JSON API: Telegram initData -> access token, then bearer calls.

import type { Channel, ChannelOverview, ErrorBody, Session } from "./api-types";
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

async function send<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(BASE + path, init);
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(0, "NETWORK_ERROR", String(error));
  }
  if (!response.ok) throw await toApiError(response);
  try {
    return (await response.json()) as T;
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(response.status, "BAD_RESPONSE", "The server sent a response that is not JSON");
  }
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

/** Exchanges initData for an access token; concurrent callers share one exchange. */
export function signIn(): Promise<Session> {
  signingIn ??= (async () => {
    try {
      const fresh = await send<Session>("/auth/telegram", {
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

function bearer(current: Session, signal: AbortSignal | undefined): RequestInit {
  return {
    headers: { Authorization: `Bearer ${current.access_token}` },
    signal: signal ?? null,
  };
}

/** A GET with the access token; on 401 signs in again once and retries. */
async function authorizedGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const current = session ?? (await signIn());
  try {
    return await send<T>(path, bearer(current, signal));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    if (session === current) session = null;
    const renewed = session ?? (await signIn());
    return send<T>(path, bearer(renewed, signal));
  }
}

export async function listChannels(signal?: AbortSignal): Promise<Channel[]> {
  const body = await authorizedGet<{ channels: Channel[] }>("/channels", signal);
  return body.channels;
}

export interface Period {
  start: string;
  end: string;
}

/** The overview of a channel for `period`, or the server's default (last 7 days). */
export function getOverview(
  channelId: number,
  period: Period | null,
  signal?: AbortSignal,
): Promise<ChannelOverview> {
  const query = period ? `?${new URLSearchParams({ start: period.start, end: period.end })}` : "";
  return authorizedGet<ChannelOverview>(`/channels/${channelId}/overview${query}`, signal);
}
