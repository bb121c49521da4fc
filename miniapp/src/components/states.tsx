import type { ComponentChildren } from "preact";
import { ApiError } from "../api";
import { hasMessage, t } from "../i18n";

/** Grey placeholders shaped like the content that is loading. */
export function Skeleton({ rows, kind }: { rows: number; kind: "row" | "card" }) {
  return (
    <div class="skeleton-list" aria-busy="true" data-testid="loading">
      {Array.from({ length: rows }, (_, index) => (
        <div key={index} class={`skeleton skeleton-${kind}`} />
      ))}
    </div>
  );
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    if (hasMessage(key)) return t(key);
    if (error.status === 401) return t("error.UNAUTHORIZED");
  }
  return t("error.generic");
}

export function ErrorState({
  error,
  onRetry,
  children,
}: {
  error: unknown;
  onRetry: () => void;
  children?: ComponentChildren;
}) {
  const code = error instanceof ApiError ? error.code : "UNKNOWN";
  return (
    <div class="state" role="alert" data-testid="error-state" data-code={code}>
      <div class="state-icon" aria-hidden="true">
        !
      </div>
      <h2 class="state-title">{t("error.title")}</h2>
      <p class="state-text">{describe(error)}</p>
      <button type="button" class="button" data-testid="retry" onClick={onRetry}>
        {t("error.retry")}
      </button>
      {children}
    </div>
  );
}
