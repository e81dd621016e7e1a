-- A counter every change of a client bumps, whoever makes it (this node, another node, the CLI
-- in another process, an operator's SQL): each node caches clients and polls this one row every
-- `server.keys_reload_secs`, dropping its copies when the number moved (src/client_cache.rs).

CREATE TABLE change_epochs (
    name   TEXT PRIMARY KEY,
    epoch  BIGINT NOT NULL
);

INSERT INTO change_epochs (name, epoch) VALUES ('clients', 0);

CREATE TRIGGER clients_epoch_insert AFTER INSERT ON clients
BEGIN
    UPDATE change_epochs SET epoch = epoch + 1 WHERE name = 'clients';
END;

CREATE TRIGGER clients_epoch_update AFTER UPDATE ON clients
BEGIN
    UPDATE change_epochs SET epoch = epoch + 1 WHERE name = 'clients';
END;

CREATE TRIGGER clients_epoch_delete AFTER DELETE ON clients
BEGIN
    UPDATE change_epochs SET epoch = epoch + 1 WHERE name = 'clients';
END;
