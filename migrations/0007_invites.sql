-- Invites to a channel (analyst or viewer) and where each grant came from.
-- Owner and admin grants mirror Telegram's administrator list (source 'telegram', kept
-- in sync by the bot); analysts and viewers come from invites (source 'invite').

ALTER TABLE grants ADD COLUMN source text NOT NULL DEFAULT 'manual'
    CHECK (source IN ('telegram', 'invite', 'manual'));

CREATE TABLE invites (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,             -- SHA-256 of the secret; never stored
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('analyst', 'viewer')),
    single_use  boolean NOT NULL,
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    uses        integer NOT NULL DEFAULT 0,
    revoked_at  timestamptz
);
CREATE INDEX invites_channel_idx ON invites (channel_id);
