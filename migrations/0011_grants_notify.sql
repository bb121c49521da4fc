-- Grant changes announced to the services that remember roles (analyticbot/runtime/grant_cache.py).
--
-- Every committed change of a role sends NOTIFY grants_changed with the user's id as the
-- payload; TRUNCATE sends an empty payload, meaning "forget every role". Triggers, not
-- the services' own code, send it, so a change made directly in SQL (an operator's fix,
-- a test, a future service) reaches the caches too. PostgreSQL delivers a notification
-- only at commit, and folds identical ones within one transaction into one.
--
-- An UPDATE that leaves user, channel and role as they were (the bot's administrator
-- resync upserts the same rows again and again) announces nothing.

CREATE FUNCTION grants_notify_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('grants_changed', OLD.user_id::text);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_notify('grants_changed', NEW.user_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION grants_notify_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grants_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER grants_notify_insert_delete
    AFTER INSERT OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION grants_notify_row();

CREATE TRIGGER grants_notify_update
    AFTER UPDATE ON grants
    FOR EACH ROW
    WHEN ((OLD.user_id, OLD.channel_id, OLD.role) IS DISTINCT FROM (NEW.user_id, NEW.channel_id, NEW.role))
    EXECUTE FUNCTION grants_notify_row();

CREATE TRIGGER grants_notify_truncate
    AFTER TRUNCATE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION grants_notify_all();
