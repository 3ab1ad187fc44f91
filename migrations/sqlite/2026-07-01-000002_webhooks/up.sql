-- Outbound webhooks (see the PostgreSQL migration of the same name).
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    eventos TEXT NOT NULL,
    descricao TEXT,
    segredo TEXT NOT NULL,
    ativo BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    removido_em TEXT
);

CREATE TABLE webhook_entregas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id),
    evento TEXT NOT NULL,
    corpo TEXT NOT NULL,
    estado TEXT NOT NULL DEFAULT 'pendente',
    tentativas INTEGER NOT NULL DEFAULT 0,
    ultimo_status INTEGER,
    ultimo_erro TEXT,
    proxima_tentativa TEXT NOT NULL,
    bloqueado_ate TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT webhook_entregas_estado_check CHECK (estado IN ('pendente', 'entregue', 'falhou'))
);

CREATE INDEX webhook_entregas_pendentes_idx ON webhook_entregas (proxima_tentativa, id)
    WHERE estado = 'pendente';
CREATE INDEX webhook_entregas_webhook_idx ON webhook_entregas (webhook_id, id);
