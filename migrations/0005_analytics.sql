-- The analytics read side: alert rules and raised alerts (an outbox towards the
-- ab:alerts Redis Stream) and the history of Telegram's native broadcast statistics.

-- One rule of one user on one channel. threshold is in the kind's unit:
-- post_viral / post_underperforming: performance index; subscriber_drop: percent within
-- 24 h; subscriber_milestone: the step (alert at each multiple); collection_stalled: hours.
CREATE TABLE alert_rules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('post_viral', 'post_underperforming',
                    'subscriber_drop', 'subscriber_milestone', 'collection_stalled')),
    threshold   double precision NOT NULL CHECK (threshold > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, channel_id, kind, threshold)
);
-- Evaluation after an ingest event reads a channel's rules.
CREATE INDEX alert_rules_channel_idx ON alert_rules (channel_id);

-- A raised alert. alert_key is the idempotency key: the rule and its subject (a post,
-- a milestone, a day, a stall), so one rule raises one alert per subject however often
-- it is evaluated. published_at is set once the alert is in the ab:alerts stream; rows
-- with it NULL are (re)published by the next evaluation (outbox).
CREATE TABLE alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_key    text NOT NULL UNIQUE,
    rule_id      bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL,
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    message_id   bigint,
    text         text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    deep_link    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX alerts_user_channel_idx ON alerts (user_id, channel_id, id DESC);
CREATE INDEX alerts_unpublished_idx ON alerts (id) WHERE published_at IS NULL;

-- Telegram's native statistics (stats.getBroadcastStats), one row per collection, kept
-- as history: Telegram shows them only as a rolling window. period is the window
-- Telegram reported; payload the response as JSON.
CREATE TABLE IF NOT EXISTS broadcast_stats (
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    collected_at timestamptz NOT NULL,
    period       text NOT NULL DEFAULT '',
    payload      jsonb NOT NULL,
    PRIMARY KEY (channel_id, collected_at)
);
