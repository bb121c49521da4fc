-- Share links: when each link was last exchanged for a token, so owners can see which
-- links are in use before revoking them. Updated by ExchangeShareLink only (one write per
-- token lifetime per viewer), never on the read path.
-- The per-request revocation check (rbac.authorize) reads a link by its primary key;
-- listing reads a channel's links newest first.

ALTER TABLE share_links ADD COLUMN last_used_at timestamptz;

DROP INDEX share_links_channel_idx;
CREATE INDEX share_links_channel_created_idx ON share_links (channel_id, created_at DESC, id DESC);
