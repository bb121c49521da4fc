import { useEffect, useRef, useState } from "preact/hooks";
import { isAbortError, listPosts } from "../api";
import type { PostPage, PostSort, PostSummary } from "../api-types";
import { myChannels, roleAtLeast } from "../channels";
import { BackLink } from "../components/back-link";
import { MainAction } from "../components/main-action";
import { MetricValue } from "../components/metric";
import { ErrorState, Skeleton } from "../components/states";
import { exportPosts } from "../export";
import { formatCount, formatDateTime } from "../format";
import { useAsync } from "../hooks";
import { hasMessage, t } from "../i18n";
import { hrefFor, navigate } from "../router";
import { hapticImpact, hapticSelection } from "../telegram";

const SORTS: readonly PostSort[] = [
  "published_at",
  "views",
  "reactions",
  "forwards",
  "replies",
  "er",
  "virality",
  "reach_12h",
  "reach_24h",
  "reach_48h",
  "performance_index",
];
const MEDIA: readonly string[] = ["text", "photo", "video", "document", "poll"];

export function mediaLabel(type: string): string {
  const key = `media.${type}`;
  return hasMessage(key) ? t(key) : t("media.other");
}

export function RatingBadge({ rating }: { rating: string | null }) {
  if (rating !== "viral" && rating !== "underperforming") return null;
  return (
    <span class={`badge badge-${rating}`} data-testid="post-rating" data-value={rating}>
      {t(`rating.${rating}`)}
    </span>
  );
}

function PostRow({ channelId, post }: { channelId: number; post: PostSummary }) {
  const route = { name: "post", channelId, messageId: post.message_id } as const;
  return (
    <li>
      <a
        class="post-row"
        href={hrefFor(route)}
        data-testid="post-item"
        data-message-id={String(post.message_id)}
        onClick={(event) => {
          event.preventDefault();
          hapticImpact();
          navigate(route);
        }}
      >
        <span class="post-meta">
          <span>{formatDateTime(new Date(post.published_at))}</span>
          <span class="chip">{mediaLabel(post.media_type)}</span>
          <RatingBadge rating={post.rating} />
        </span>
        <span class={post.text_preview ? "post-text" : "post-text post-text-empty"}>
          {post.text_preview || t("posts.noText")}
        </span>
        <span class="post-stats">
          <span class="post-stat">
            <span aria-label={t("metric.views")}>👁 </span>
            <MetricValue metric={post.views} kind="count" testId="post-views" />
          </span>
          <span class="post-stat">
            <span aria-label={t("metric.reactions")}>♥ </span>
            <MetricValue metric={post.reactions} kind="count" testId="post-reactions" />
          </span>
          <span class="post-stat">
            <span aria-label={t("metric.forwards")}>↗ </span>
            <MetricValue metric={post.forwards} kind="count" testId="post-forwards" />
          </span>
          <span class="post-stat">
            <span>ER </span>
            <MetricValue metric={post.er} kind="percent" testId="post-er" />
          </span>
        </span>
      </a>
    </li>
  );
}

interface Listing {
  posts: PostSummary[];
  cursor: string | null;
  total: number;
}

export function PostsScreen({ channelId }: { channelId: number }) {
  const [sort, setSort] = useState<PostSort>("published_at");
  const [order, setOrder] = useState<"asc" | "desc">("desc");
  const [media, setMedia] = useState<string | null>(null);
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [exporting, setExporting] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const [channels] = useAsync((signal) => myChannels(signal), []);
  const role = channels.data?.find((c) => c.channel_id === channelId)?.role ?? null;

  const load = (cursor: string | null, previous: Listing | null): void => {
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setLoading(true);
    setError(null);
    const query = { sort, order, mediaTypes: media ? [media] : [], period: null, cursor };
    listPosts(channelId, query, current.signal).then(
      (page: PostPage) => {
        if (current.signal.aborted) return;
        setListing({
          posts: [...(previous?.posts ?? []), ...page.posts],
          cursor: page.next_cursor,
          total: page.total,
        });
        setLoading(false);
      },
      (failure: unknown) => {
        if (current.signal.aborted || isAbortError(failure)) return;
        setError(failure);
        setLoading(false);
      },
    );
  };

  useEffect(() => {
    setListing(null);
    load(null, null);
    return () => controller.current?.abort();
  }, [channelId, sort, order, media, attempt]);

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !listing?.cursor || loading || error) return undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) load(listing.cursor, listing);
      },
      { rootMargin: "400px" },
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [listing, loading, error]);

  const pick = <T,>(setter: (value: T) => void, value: T): void => {
    hapticSelection();
    setter(value);
  };
  const runExport = (): void => {
    setExporting(true);
    exportPosts(channelId).finally(() => setExporting(false));
  };
  const byDate = sort === "published_at";
  const orderLabel = t(
    order === "desc" ? (byDate ? "posts.order.newest" : "posts.order.desc") : byDate ? "posts.order.oldest" : "posts.order.asc",
  );

  return (
    <main class="screen" data-testid="screen-posts" data-channel-id={String(channelId)}>
      <BackLink />
      <h1 class="title">{t("posts.title")}</h1>
      <p class="subtitle" data-testid="posts-total" data-value={listing ? String(listing.total) : undefined}>
        {listing ? t("posts.total", { count: formatCount(listing.total) }) : "\u00a0"}
      </p>
      <div class="controls">
        <label class="control">
          <span class="control-label">{t("posts.sort")}</span>
          <select
            class="select"
            data-testid="posts-sort"
            value={sort}
            onChange={(event) => pick(setSort, (event.currentTarget as HTMLSelectElement).value as PostSort)}
          >
            {SORTS.map((option) => (
              <option key={option} value={option}>
                {t(`sort.${option}`)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="chip-button"
          data-testid="posts-order"
          data-value={order}
          aria-label={`${t("posts.order")}: ${orderLabel}`}
          onClick={() => pick(setOrder, order === "desc" ? "asc" : "desc")}
        >
          {order === "desc" ? "↓ " : "↑ "}
          {orderLabel}
        </button>
      </div>
      <div class="chips" role="radiogroup" aria-label={t("posts.filter")}>
        {[null, ...MEDIA].map((type) => (
          <button
            key={type ?? "all"}
            type="button"
            role="radio"
            aria-checked={media === type}
            class={media === type ? "chip-button chip-active" : "chip-button"}
            data-testid={`filter-${type ?? "all"}`}
            onClick={() => pick(setMedia, type)}
          >
            {type === null ? t("posts.filter.all") : mediaLabel(type)}
          </button>
        ))}
      </div>
      {listing === null ? (
        error ? (
          <ErrorState error={error} onRetry={() => setAttempt((n) => n + 1)} />
        ) : (
          <Skeleton rows={5} kind="row" />
        )
      ) : listing.posts.length === 0 ? (
        <div class="state" data-testid="posts-empty">
          <h2 class="state-title">{t("posts.empty")}</h2>
          <p class="state-text">{t("posts.emptyHint")}</p>
        </div>
      ) : (
        <>
          <ul class="section list post-list">
            {listing.posts.map((post) => (
              <PostRow key={post.message_id} channelId={channelId} post={post} />
            ))}
          </ul>
          {error ? (
            <ErrorState error={error} onRetry={() => load(listing.cursor, listing)} />
          ) : (
            <div ref={sentinel} class="list-end" data-testid={listing.cursor ? "posts-more" : "posts-end"}>
              {listing.cursor ? t("posts.more") : t("posts.end")}
            </div>
          )}
        </>
      )}
      {roleAtLeast(role, "analyst") && (
        <MainAction text={t("nav.export")} testId="main-export" progress={exporting} onClick={runExport} />
      )}
    </main>
  );
}
