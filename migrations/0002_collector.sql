-- Collector scheduling: when each post is next due for a counter refresh.
-- next_refresh_at follows the age cadence in services/collector/domain.py (SAMPLE_AGES);
-- NULL for deleted posts. last_checked_at is the last time the source was asked.

ALTER TABLE posts ADD COLUMN next_refresh_at timestamptz;
ALTER TABLE posts ADD COLUMN last_checked_at timestamptz;

-- The refresh queue of a channel: its live posts by due time.
CREATE INDEX posts_refresh_due_idx ON posts (channel_id, next_refresh_at)
    WHERE deleted_at IS NULL AND next_refresh_at IS NOT NULL;

-- Claiming due channels: not paused, by due time.
CREATE INDEX collection_state_claim_idx ON collection_state (next_run_at, channel_id);

-- Why collection of a channel is paused (for the operator view); NULL when running.
ALTER TABLE collection_state ADD COLUMN paused_reason text;
