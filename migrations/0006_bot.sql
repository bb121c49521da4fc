-- The bot's own state: users' preferences, the channels it administers, and the
-- delivery ledger that makes every notification idempotent.

-- One row per user who talked to the bot (private chat id = user id). No foreign key to
-- users: the bot meets people before they ever open the Mini App.
CREATE TABLE bot_users (
    user_id          bigint PRIMARY KEY,
    language         text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ru', 'uz')),
    alerts_enabled   boolean NOT NULL DEFAULT true,
    digest_frequency text NOT NULL DEFAULT 'weekly'
                     CHECK (digest_frequency IN ('off', 'daily', 'weekly')),
    digest_hour      smallint NOT NULL DEFAULT 9 CHECK (digest_hour BETWEEN 0 AND 23),
    time_zone        text NOT NULL DEFAULT 'UTC',
    blocked_at       timestamptz,                   -- set on 403: the user blocked the bot
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_users_digest_idx ON bot_users (digest_frequency) WHERE blocked_at IS NULL;

-- Channels the bot was added to, for the periodic administrator re-sync.
CREATE TABLE bot_channels (
    channel_id     bigint PRIMARY KEY,              -- bare id, without -100
    title          text NOT NULL,
    username       text,
    is_admin       boolean NOT NULL,
    added_by       bigint,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_synced_at timestamptz
);

-- One row per notification (alert_id from the stream, or digest:<user>:<period>).
-- 'sending' is claimed before the Telegram call, 'sent' recorded after it answered;
-- a redelivered stream entry whose key is 'sent' is acknowledged without sending.
CREATE TABLE bot_deliveries (
    delivery_key   text PRIMARY KEY,
    user_id        bigint NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('alert', 'digest')),
    state          text NOT NULL CHECK (state IN ('sending', 'sent', 'skipped', 'failed')),
    attempts       integer NOT NULL DEFAULT 1,
    claimed_by     text NOT NULL,                   -- consumer holding the 'sending' claim
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    message_id     bigint,                          -- Telegram's id of the sent message
    detail         text NOT NULL DEFAULT ''
);
CREATE INDEX bot_deliveries_finished_idx ON bot_deliveries (finished_at);
