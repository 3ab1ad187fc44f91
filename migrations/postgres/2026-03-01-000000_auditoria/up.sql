-- The record of operations. Every state-changing operation writes one row in the same
-- transaction as its change; rows are only ever inserted, and deleted by the retention
-- pruning (AUDIT_RETENTION_DAYS), oldest first in small batches.
CREATE TABLE IF NOT EXISTS auditoria (
    id BIGSERIAL PRIMARY KEY,
    em TIMESTAMPTZ NOT NULL,
    -- The stored API key that made the request; NULL for AUTHENTICATION_API_KEY and the command
    -- line (told apart by chave_descricao). No foreign key: keys are never deleted, and the
    -- record must not depend on them.
    chave_id BIGINT,
    chave_descricao VARCHAR(255) NOT NULL,
    request_id VARCHAR(128) NOT NULL,
    acao VARCHAR(40) NOT NULL,
    entidade VARCHAR(20) NOT NULL,
    entidade_id BIGINT NOT NULL,
    -- JSON: {"<field>": {"antes": …, "depois": …}} for the changed fields only.
    alteracoes TEXT NOT NULL
);

-- Keyset pagination newest first (ORDER BY id DESC, id < cursor): the primary key serves the
-- unfiltered listing; these serve the filters.
CREATE INDEX IF NOT EXISTS auditoria_entidade_idx ON auditoria (entidade, entidade_id, id);
CREATE INDEX IF NOT EXISTS auditoria_acao_idx ON auditoria (acao, id);
-- GET /consultor/{id}/historico-conexao: a consultant's few connection switches, without
-- walking past their (many) assignments.
CREATE INDEX IF NOT EXISTS auditoria_conexao_idx ON auditoria (entidade_id, id)
    WHERE acao IN ('consultor.criado', 'consultor.conexao');
