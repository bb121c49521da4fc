-- MTProto accounts of the collector, their leases, flood waits and per-account peers.

-- One signed-in Telegram account. session_box is the StringSession encrypted with
-- AES-256-GCM under ANALYTICBOT_SESSION_KEY (services/collector/sessions.py); proxy_box
-- likewise for the optional proxy URL (it may hold credentials). Neither is ever stored
-- or logged in clear. A replica holds an account while lease_until is in the future
-- (database time); rest_until is when a FloodWait imposed by Telegram ends.
CREATE TABLE mtproto_accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label          text NOT NULL UNIQUE,
    telegram_user_id bigint,
    session_box    bytea NOT NULL,
    proxy_box      bytea,
    enabled        boolean NOT NULL DEFAULT true,
    lease_owner    text,
    lease_until    timestamptz,
    rest_until     timestamptz,
    flood_waits    bigint NOT NULL DEFAULT 0,
    last_error     text,
    last_error_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mtproto_accounts_lease_idx ON mtproto_accounts (lease_until) WHERE enabled;

-- access_hash is per account: a channel resolved by one account is unknown to another.
CREATE TABLE mtproto_peers (
    account_id  bigint NOT NULL REFERENCES mtproto_accounts (id) ON DELETE CASCADE,
    channel_id  bigint NOT NULL,
    access_hash bigint NOT NULL,
    resolved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, channel_id)
);

-- When Telegram's native statistics were last collected for a channel.
ALTER TABLE collection_state ADD COLUMN last_stats_at timestamptz;
