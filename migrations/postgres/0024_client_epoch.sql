-- A counter every change of a client bumps, whoever makes it (this node, another node, the CLI,
-- an operator's SQL): each node caches clients and polls this one row every
-- `server.keys_reload_secs`, dropping its copies when the number moved (src/client_cache.rs).

CREATE TABLE change_epochs (
    name   TEXT PRIMARY KEY,
    epoch  BIGINT NOT NULL
);

INSERT INTO change_epochs (name, epoch) VALUES ('clients', 0);

CREATE FUNCTION bump_clients_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_epochs SET epoch = epoch + 1 WHERE name = 'clients';
    RETURN NULL;
END;
$$;

-- Per statement: a tenant's deletion cascading to many clients bumps it once.
CREATE TRIGGER clients_epoch AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION bump_clients_epoch();
