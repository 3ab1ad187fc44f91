-- The Pipedrive integration (see the PostgreSQL migration of the same name). On SQLite the
-- workers claim rows inside BEGIN IMMEDIATE, which already keeps every other writer out; the
-- lease (bloqueado_ate) still hands each row to one worker at a time. Timestamps are TEXT in the
-- fixed-width UTC format of the other tables.
CREATE TABLE crm_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    protocolo_id INTEGER REFERENCES protocolos (id),
    acao TEXT NOT NULL,
    alvo_tipo TEXT NOT NULL,
    alvo_id TEXT NOT NULL,
    owner_id BIGINT,
    conteudo TEXT,
    estado TEXT NOT NULL DEFAULT 'pendente',
    tentativas INTEGER NOT NULL DEFAULT 0,
    proxima_tentativa TEXT NOT NULL,
    bloqueado_ate TEXT,
    ultimo_erro TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT crm_outbox_acao_check CHECK (
        (acao = 'definir_responsavel' AND owner_id IS NOT NULL)
        OR (acao = 'adicionar_nota' AND conteudo IS NOT NULL)),
    CONSTRAINT crm_outbox_alvo_tipo_check CHECK (alvo_tipo IN ('deal', 'lead', 'person')),
    CONSTRAINT crm_outbox_estado_check CHECK (estado IN ('pendente', 'concluido', 'falhou'))
);

CREATE INDEX crm_outbox_estado_proxima_idx ON crm_outbox (estado, proxima_tentativa);
CREATE INDEX crm_outbox_protocolo_idx ON crm_outbox (protocolo_id, id);
CREATE INDEX crm_outbox_alvo_idx ON crm_outbox (alvo_tipo, alvo_id, id);

CREATE TABLE pipedrive_webhook_eventos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chave TEXT NOT NULL CONSTRAINT pipedrive_webhook_eventos_chave_key UNIQUE,
    acao TEXT NOT NULL,
    entidade TEXT NOT NULL,
    entidade_id TEXT NOT NULL,
    tentativa INTEGER NOT NULL,
    payload TEXT NOT NULL,
    estado TEXT NOT NULL DEFAULT 'pendente',
    motivo TEXT,
    protocolo_id INTEGER REFERENCES protocolos (id),
    recebido_em TEXT NOT NULL,
    processado_em TEXT,
    bloqueado_ate TEXT,
    CONSTRAINT pipedrive_webhook_eventos_estado_check
        CHECK (estado IN ('pendente', 'concluido', 'ignorado', 'falhou'))
);

CREATE INDEX pipedrive_webhook_eventos_pendentes_idx
    ON pipedrive_webhook_eventos (id) WHERE estado = 'pendente';
