// The dashboard's live feed: GET /api/v1/channels/<id>/live (docs/api.md). Sends the
// access token in the first message, hands every overview to the caller, watches the
// heartbeat, renews the token before it expires, and reconnects with exponential
// backoff and full jitter when the socket drops.

import { useEffect, useRef, useState } from "preact/hooks";
import { forgetSession, freshToken } from "./api";
import type { ChannelOverview, LiveMessage } from "./api-types";

export type LiveStatus = "connecting" | "live" | "offline" | "stopped";

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const RATE_LIMITED_DELAY_MS = 15_000;
/** Close codes after which reconnecting cannot help (bad client, no access). */
const FINAL_CODES = new Set([1000, 4400, 4403, 4404]);

/** Full jitter: a uniform delay in [0, min(cap, base × 2^attempt)). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt));
}

function socketUrl(channelId: number): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/channels/${channelId}/live`;
}

function parse(data: unknown): LiveMessage | null {
  if (typeof data !== "string") return null;
  try {
    const message: unknown = JSON.parse(data);
    return typeof message === "object" && message !== null && "type" in message ? (message as LiveMessage) : null;
  } catch {
    return null;
  }
}

/**
 * Subscribes to a channel's live overview while mounted. `onOverview` receives each
 * pushed overview with its ingest kind ("initial" first after every (re)connect).
 */
export function useLiveOverview(
  channelId: number,
  onOverview: (overview: ChannelOverview, kind: string) => void,
): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const handler = useRef(onOverview);
  handler.current = onOverview;

  useEffect(() => {
    let socket: WebSocket | null = null;
    let attempt = 0;
    let stopped = false;
    let retryTimer = 0;
    let watchdog = 0;
    let renewTimer = 0;

    const clearTimers = (): void => {
      window.clearTimeout(watchdog);
      window.clearTimeout(renewTimer);
    };

    const schedule = (delay: number): void => {
      if (stopped) return;
      setStatus("offline");
      retryTimer = window.setTimeout(connect, delay);
    };

    const sendAuth = async (target: WebSocket): Promise<void> => {
      const token = await freshToken();
      if (target.readyState === WebSocket.OPEN) target.send(JSON.stringify({ type: "auth", token }));
    };

    function connect(): void {
      if (stopped) return;
      setStatus((current) => (current === "live" ? current : "connecting"));
      const ws = new WebSocket(socketUrl(channelId));
      socket = ws;
      let heartbeatMs = 40_000;
      const armWatchdog = (): void => {
        window.clearTimeout(watchdog);
        // No heartbeat for two intervals: the connection is dead even if not closed.
        watchdog = window.setTimeout(() => ws.close(4000, "heartbeat missed"), heartbeatMs);
      };
      ws.onopen = () => {
        armWatchdog();
        sendAuth(ws).catch(() => ws.close(4000, "no token"));
      };
      ws.onmessage = (event: MessageEvent) => {
        const message = parse(event.data);
        if (!message) return;
        armWatchdog();
        if (message.type === "ready") {
          attempt = 0;
          heartbeatMs = message.heartbeat_seconds * 2_000;
          armWatchdog();
          setStatus("live");
          window.clearTimeout(renewTimer);
          const renewIn = Date.parse(message.expires_at) - Date.now() - 60_000;
          renewTimer = window.setTimeout(() => {
            sendAuth(ws).catch(() => ws.close(4000, "no token"));
          }, Math.max(5_000, renewIn));
        } else if (message.type === "overview") {
          handler.current(message.overview, message.kind);
        }
      };
      ws.onclose = (event: CloseEvent) => {
        clearTimers();
        if (socket !== ws || stopped) return;
        socket = null;
        if (FINAL_CODES.has(event.code)) {
          stopped = true;
          setStatus("stopped");
          return;
        }
        if (event.code === 4401) forgetSession();
        const delay = event.code === 4429 ? RATE_LIMITED_DELAY_MS + backoffDelay(attempt) : backoffDelay(attempt);
        attempt += 1;
        schedule(delay);
      };
    }

    connect();
    const onOnline = (): void => {
      if (socket === null && !stopped) {
        window.clearTimeout(retryTimer);
        connect();
      }
    };
    window.addEventListener("online", onOnline);
    return () => {
      stopped = true;
      window.removeEventListener("online", onOnline);
      window.clearTimeout(retryTimer);
      clearTimers();
      socket?.close(1000, "left the screen");
      socket = null;
    };
  }, [channelId]);

  return status;
}
