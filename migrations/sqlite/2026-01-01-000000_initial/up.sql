-- The consultores schema on SQLite (the embedded default). Same tables and columns as on
-- PostgreSQL. Timestamps are TEXT in one fixed-width UTC format
-- ('2026-11-29T14:30:00.123456+00:00'), so ordering the text orders the times.

CREATE TABLE consultores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nome TEXT NOT NULL,
    email TEXT,
    telefone TEXT,
    status_ativo BOOLEAN NOT NULL DEFAULT 1,
    status_ativo_sequencial BOOLEAN NOT NULL DEFAULT 1,
    status_online BOOLEAN NOT NULL DEFAULT 0,
    ultimo_atendimento TEXT,
    id_pipedrive BIGINT,
    removido_em TEXT
);

CREATE TABLE consultor_idiomas (
    consultor_id INTEGER NOT NULL REFERENCES consultores (id),
    idioma TEXT NOT NULL,
    posicao INTEGER NOT NULL,
    PRIMARY KEY (consultor_id, idioma)
);

CREATE TABLE protocolos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    numero TEXT NOT NULL CONSTRAINT protocolos_numero_key UNIQUE,
    -- No ON DELETE CASCADE: consultants are soft-deleted and their protocols keep their history.
    consultor_id INTEGER REFERENCES consultores (id),
    idioma TEXT,
    descricao TEXT,
    prioridade TEXT NOT NULL DEFAULT 'normal',
    status TEXT NOT NULL DEFAULT 'aberto',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE controle_protocolo (
    id INTEGER PRIMARY KEY,
    ultimo_numero BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
INSERT INTO controle_protocolo (id, ultimo_numero, updated_at)
VALUES (1, 0, strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00');

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Hex SHA-256 of the secret; the secret itself is never stored.
    key_hash TEXT NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    description TEXT,
    scope TEXT NOT NULL DEFAULT 'admin',
    is_active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    chave TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- serde_json of the first answer; written in the same transaction that claims the key.
    resposta TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (scope, chave)
);

-- Email unique among consultants that are not deleted, case-insensitively (ASCII case, as
-- SQLite's lower() folds only ASCII).
CREATE UNIQUE INDEX consultores_email_unique
    ON consultores (lower(email))
    WHERE removido_em IS NULL AND email IS NOT NULL;
-- The rotation: eligible consultants in queue order (SQLite sorts NULLs first in ascending order,
-- which is the policy's "never served goes first").
CREATE INDEX consultores_rotation_idx
    ON consultores (ultimo_atendimento, id)
    WHERE removido_em IS NULL AND status_ativo AND status_ativo_sequencial AND status_online;
CREATE INDEX consultor_idiomas_idioma_idx ON consultor_idiomas (idioma, consultor_id);
CREATE INDEX protocolos_consultor_id_id_idx ON protocolos (consultor_id, id);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
