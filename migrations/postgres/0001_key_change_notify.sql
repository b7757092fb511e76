-- Every change to api_keys (the CLI, the admin API, or an operator's UPDATE in psql) notifies every
-- gateway instance, which drops its cached key rows: the change is seen on the next request.
CREATE FUNCTION gateway_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gateway_keys', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_keys_changed();
