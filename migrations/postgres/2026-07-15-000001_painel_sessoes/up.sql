-- Sessions of the operations page (/painel), shared by every replica. The cookie's token is
-- never stored, only its hex SHA-256. A session dies when idle too long, on sign-out, or when
-- its stored key is revoked (checked on every use).
CREATE TABLE IF NOT EXISTS painel_sessoes (
    token_hash TEXT PRIMARY KEY,
    -- NULL for the configured key (AUTHENTICATION_API_KEY), which has no id.
    chave_id BIGINT REFERENCES api_keys (id),
    chave_descricao TEXT,
    escopo TEXT NOT NULL,
    csrf TEXT NOT NULL,
    criado_em TIMESTAMPTZ NOT NULL,
    usado_em TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS painel_sessoes_usado_em_idx ON painel_sessoes (usado_em);
