-- Post rollup: per post, the snapshot rows the read side probes most, kept on its posts row.
--
-- For every post: its newest snapshot (latest(p, ·, T) for any T at or after it) and, for
-- each reach horizon of ../shared/METRICS.md (12, 24 and 48 hours), the last snapshot at
-- or before published_at + horizon and the first at or after it, the two samples that
-- views(p, a) interpolates between. The values are copies of post_snapshots rows, not
-- computed metrics: the metrics stay implemented once, in Python. They live on the posts
-- row itself, so a period query is one range scan of posts_channel_published_idx with no
-- join (docs/decisions.md).
--
-- Maintained by statement triggers on post_snapshots in the writer's own transaction, so
-- a reader never sees a snapshot without its rollup; post_stats_refresh recomputes the
-- listed posts from post_snapshots with the same index probes the queries used to make,
-- so the rollup is exact whatever the order rows arrive in.

ALTER TABLE posts
    ADD COLUMN stats_latest_at        timestamptz,
    ADD COLUMN stats_views            bigint,
    ADD COLUMN stats_forwards         bigint,
    ADD COLUMN stats_replies          bigint,
    ADD COLUMN stats_reactions_total  bigint,
    ADD COLUMN stats_reactions        jsonb,
    ADD COLUMN stats_before_12h_at    timestamptz,
    ADD COLUMN stats_before_12h_views bigint,
    ADD COLUMN stats_after_12h_at     timestamptz,
    ADD COLUMN stats_after_12h_views  bigint,
    ADD COLUMN stats_before_24h_at    timestamptz,
    ADD COLUMN stats_before_24h_views bigint,
    ADD COLUMN stats_after_24h_at     timestamptz,
    ADD COLUMN stats_after_24h_views  bigint,
    ADD COLUMN stats_before_48h_at    timestamptz,
    ADD COLUMN stats_before_48h_views bigint,
    ADD COLUMN stats_after_48h_at     timestamptz,
    ADD COLUMN stats_after_48h_views  bigint;

CREATE FUNCTION post_stats_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE posts AS t SET
        stats_latest_at = l.sampled_at, stats_views = l.views, stats_forwards = l.forwards,
        stats_replies = l.replies, stats_reactions_total = l.reactions_total,
        stats_reactions = l.reactions,
        stats_before_12h_at = b12.sampled_at, stats_before_12h_views = b12.views,
        stats_after_12h_at = a12.sampled_at, stats_after_12h_views = a12.views,
        stats_before_24h_at = b24.sampled_at, stats_before_24h_views = b24.views,
        stats_after_24h_at = a24.sampled_at, stats_after_24h_views = a24.views,
        stats_before_48h_at = b48.sampled_at, stats_before_48h_views = b48.views,
        stats_after_48h_at = a48.sampled_at, stats_after_48h_views = a48.views
    FROM posts AS p
    LEFT JOIN LATERAL (
        SELECT * FROM post_snapshots ps WHERE ps.post_id = p.id
        ORDER BY ps.sampled_at DESC LIMIT 1) l ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at <= p.published_at + interval '12 hours'
        ORDER BY ps.sampled_at DESC LIMIT 1) b12 ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at >= p.published_at + interval '12 hours'
        ORDER BY ps.sampled_at LIMIT 1) a12 ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at <= p.published_at + interval '24 hours'
        ORDER BY ps.sampled_at DESC LIMIT 1) b24 ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at >= p.published_at + interval '24 hours'
        ORDER BY ps.sampled_at LIMIT 1) a24 ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at <= p.published_at + interval '48 hours'
        ORDER BY ps.sampled_at DESC LIMIT 1) b48 ON true
    LEFT JOIN LATERAL (
        SELECT ps.sampled_at, ps.views FROM post_snapshots ps
        WHERE ps.post_id = p.id AND ps.sampled_at >= p.published_at + interval '48 hours'
        ORDER BY ps.sampled_at LIMIT 1) a48 ON true
    WHERE p.id = ANY (ids) AND t.id = p.id;
$$;

CREATE FUNCTION post_stats_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM post_stats_refresh(ARRAY(SELECT DISTINCT post_id FROM changed_rows));
    RETURN NULL;
END;
$$;

CREATE TRIGGER post_stats_on_insert AFTER INSERT ON post_snapshots
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_stats_after_insert();
CREATE TRIGGER post_stats_on_update AFTER UPDATE ON post_snapshots
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_stats_after_insert();
CREATE TRIGGER post_stats_on_delete AFTER DELETE ON post_snapshots
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_stats_after_insert();

SELECT post_stats_refresh(ARRAY(SELECT id FROM posts));
