-- The record of operations (see the PostgreSQL migration of the same name). Timestamps are TEXT
-- in the fixed-width UTC format of the other tables.
CREATE TABLE auditoria (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    em TEXT NOT NULL,
    chave_id BIGINT,
    chave_descricao TEXT NOT NULL,
    request_id TEXT NOT NULL,
    acao TEXT NOT NULL,
    entidade TEXT NOT NULL,
    entidade_id BIGINT NOT NULL,
    alteracoes TEXT NOT NULL
);

CREATE INDEX auditoria_entidade_idx ON auditoria (entidade, entidade_id, id);
CREATE INDEX auditoria_acao_idx ON auditoria (acao, id);
CREATE INDEX auditoria_conexao_idx ON auditoria (entidade_id, id)
    WHERE acao IN ('consultor.criado', 'consultor.conexao');
