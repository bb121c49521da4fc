-- Post rollup, continued: the samples the channel's median curve reads.
--
-- Post detail sets a post's view curve beside the channel's median curve: at each age of
-- post_curve_ages() (services/analytics/curves.py CURVE_AGES, checked equal by a test),
-- the median views(q, a) over the ~2,700 posts of the 30 days before the post on a big
-- channel. views(q, a) interpolates between the last sample at or before published_at + a
-- and the first at or after it, so per post these columns keep exactly those samples, at
-- most two per age, distinct and in time order (NULL for a post without samples since its
-- publication). Copies of post_snapshots rows, not computed metrics, like 0010's: the
-- metric stays implemented once, in Python. The median curve is then one range scan of
-- posts_channel_published_idx, O(posts in the 30 days), with no snapshot read.
--
-- The statement triggers of 0010 keep them in the writer's transaction. Only posts whose
-- kept samples can change are recomputed: a changed sample at or before the last kept one,
-- or a post whose kept samples do not yet reach its oldest age. A sample after a last kept
-- sample that is already past every age is never kept and moves nothing.

ALTER TABLE posts
    ADD COLUMN curve_sampled_at timestamptz[],
    ADD COLUMN curve_views      bigint[];

CREATE FUNCTION post_curve_ages() RETURNS interval[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{1 hour, 2 hours, 3 hours, 6 hours, 12 hours, 24 hours, 48 hours, 72 hours,
             168 hours}'::interval[]
$$;

-- width_bucket(x, targets) counts the targets at or before x, so a sample is kept when a
-- target lies between it and its previous sample (it is the first at or after that
-- target) or between it and its next one (the last at or before).
CREATE FUNCTION post_curve_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE posts AS t SET curve_sampled_at = s.sample_at, curve_views = s.sample_views
    FROM posts AS p
    CROSS JOIN LATERAL (
        SELECT array_agg(p.published_at + a.age ORDER BY a.age) AS targets
        FROM unnest(post_curve_ages()) AS a (age)
    ) AS g
    LEFT JOIN LATERAL (
        SELECT array_agg(w.sampled_at ORDER BY w.sampled_at) AS sample_at,
               array_agg(w.views ORDER BY w.sampled_at) AS sample_views
        FROM (
            SELECT ps.sampled_at, ps.views,
                   lag(ps.sampled_at) OVER o AS previous_at,
                   lead(ps.sampled_at) OVER o AS next_at
            FROM post_snapshots AS ps
            WHERE ps.post_id = p.id AND ps.sampled_at >= p.published_at
            WINDOW o AS (ORDER BY ps.sampled_at)
        ) AS w
        WHERE width_bucket(w.sampled_at, g.targets)
                  > coalesce(width_bucket(w.previous_at, g.targets), 0)
           OR coalesce(width_bucket(w.next_at - interval '1 microsecond', g.targets),
                       cardinality(g.targets))
                  > width_bucket(w.sampled_at - interval '1 microsecond', g.targets)
    ) AS s ON true
    WHERE p.id = ANY (ids) AND t.id = p.id
      AND (t.curve_sampled_at, t.curve_views) IS DISTINCT FROM (s.sample_at, s.sample_views);
$$;

-- 0010's refresh keeps the counters; post_stats_refresh now refreshes everything (the
-- name the bench's bulk fill and any operator's repair call).
ALTER FUNCTION post_stats_refresh(bigint[]) RENAME TO post_counters_refresh;

CREATE FUNCTION post_stats_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM post_counters_refresh(ids);
    PERFORM post_curve_refresh(ids);
END;
$$;

CREATE OR REPLACE FUNCTION post_stats_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM post_counters_refresh(ARRAY(SELECT DISTINCT post_id FROM changed_rows));
    PERFORM post_curve_refresh(ARRAY(
        SELECT DISTINCT c.post_id
        FROM changed_rows AS c
        JOIN posts AS p ON p.id = c.post_id
        WHERE p.curve_sampled_at IS NULL
           OR c.sampled_at <= p.curve_sampled_at[cardinality(p.curve_sampled_at)]
           OR p.curve_sampled_at[cardinality(p.curve_sampled_at)]
                  < p.published_at + (post_curve_ages())[cardinality(post_curve_ages())]
    ));
    RETURN NULL;
END;
$$;

SELECT post_curve_refresh(ARRAY(SELECT id FROM posts));
