-- The first schema: who may see what, what we track, and the time series we collect.

CREATE TABLE users (
    id            bigint PRIMARY KEY,              -- Telegram user id
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    username      text,
    language_code text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz
);

CREATE TABLE channels (
    id            bigint PRIMARY KEY,              -- Telegram channel id (no -100 prefix)
    username      text,
    title         text NOT NULL,
    time_zone     text NOT NULL DEFAULT 'UTC',
    tracked_since timestamptz NOT NULL DEFAULT now(),
    paused        boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX channels_username_key ON channels (lower(username)) WHERE username IS NOT NULL;

-- Roles are ordered: owner > admin > analyst > viewer.
CREATE TABLE grants (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
    granted_by bigint REFERENCES users (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX grants_channel_idx ON grants (channel_id);

CREATE TABLE share_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,             -- SHA-256 of the token; the token is never stored
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX share_links_channel_idx ON share_links (channel_id);

CREATE TABLE posts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id   bigint NOT NULL,
    published_at timestamptz NOT NULL,
    edited_at    timestamptz,
    deleted_at   timestamptz,                      -- set only when a deletion was observed
    media_type   text NOT NULL DEFAULT 'text',
    text_preview text NOT NULL DEFAULT '',
    grouped_id   bigint,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, message_id)
);
-- Every period query: a channel's live posts by publication time.
CREATE INDEX posts_channel_published_idx ON posts (channel_id, published_at)
    WHERE deleted_at IS NULL;

-- Counters of a post over time; a row is written only when a value changed.
CREATE TABLE post_snapshots (
    post_id         bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    sampled_at      timestamptz NOT NULL,
    views           bigint NOT NULL CHECK (views >= 0),
    forwards        bigint NOT NULL CHECK (forwards >= 0),
    replies         bigint NOT NULL CHECK (replies >= 0),
    reactions_total bigint NOT NULL CHECK (reactions_total >= 0),
    reactions       jsonb NOT NULL DEFAULT '{}'::jsonb,   -- emoji -> count
    PRIMARY KEY (post_id, sampled_at)
);

-- Subscriber count over time; a row is written only when the count changed.
CREATE TABLE channel_snapshots (
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    sampled_at  timestamptz NOT NULL,
    subscribers bigint NOT NULL CHECK (subscribers >= 0),
    PRIMARY KEY (channel_id, sampled_at)
);

-- Where collection of each channel stands; also the work queue (lease columns).
CREATE TABLE collection_state (
    channel_id        bigint PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    backfill_state    text NOT NULL DEFAULT 'pending'
                      CHECK (backfill_state IN ('pending', 'running', 'done')),
    backfill_cursor   bigint,                      -- oldest message id read so far
    history_total     bigint,
    last_refresh_at   timestamptz,
    last_subscribers_at timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    next_run_at       timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_until       timestamptz
);
CREATE INDEX collection_state_due_idx ON collection_state (next_run_at);
