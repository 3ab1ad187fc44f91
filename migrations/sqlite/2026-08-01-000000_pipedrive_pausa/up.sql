-- The pause Pipedrive imposed on the integration's API token (see the PostgreSQL migration of
-- the same name). Timestamps are TEXT in the fixed-width UTC format of the other tables.
CREATE TABLE pipedrive_pausa (
    id INTEGER PRIMARY KEY CONSTRAINT pipedrive_pausa_id_check CHECK (id = 1),
    ate TEXT NOT NULL,
    motivo TEXT NOT NULL,
    atualizado_em TEXT NOT NULL
);
