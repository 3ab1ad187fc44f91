-- The pause Pipedrive imposed on the integration's API token (a 429, a spent budget, a block),
-- shared by every replica: they all use one token and one budget, so a replica that is told to
-- wait must make the others wait too. At most one row (id = 1); a pause is only ever extended,
-- never shortened, by another replica's answer.
CREATE TABLE IF NOT EXISTS pipedrive_pausa (
    id INTEGER PRIMARY KEY CONSTRAINT pipedrive_pausa_id_check CHECK (id = 1),
    -- No call to Pipedrive before this instant.
    ate TIMESTAMPTZ NOT NULL,
    -- Why (the answer that asked for the pause), for the operator.
    motivo TEXT NOT NULL,
    atualizado_em TIMESTAMPTZ NOT NULL
);
