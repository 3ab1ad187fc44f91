-- Outbound webhooks: subscriptions, and their deliveries as an outbox written in the same
-- transaction as the change they report (claimed with SKIP LOCKED and a lease, like crm_outbox).
-- `segredo` signs the deliveries, so it is stored as given (it must be recoverable); the API
-- shows it once, at creation. `eventos` is the comma-separated list of subscribed events.
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    eventos TEXT NOT NULL,
    descricao TEXT,
    segredo TEXT NOT NULL,
    ativo BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    removido_em TIMESTAMPTZ
);

CREATE TABLE webhook_entregas (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id),
    evento VARCHAR(40) NOT NULL,
    -- The JSON body sent, {"type", "timestamp", "data"}, fixed when the change happened.
    corpo TEXT NOT NULL,
    estado VARCHAR(12) NOT NULL DEFAULT 'pendente',
    tentativas INTEGER NOT NULL DEFAULT 0,
    ultimo_status INTEGER,
    ultimo_erro TEXT,
    proxima_tentativa TIMESTAMPTZ NOT NULL,
    bloqueado_ate TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_entregas_estado_check CHECK (estado IN ('pendente', 'entregue', 'falhou'))
);

CREATE INDEX webhook_entregas_pendentes_idx ON webhook_entregas (proxima_tentativa, id)
    WHERE estado = 'pendente';
CREATE INDEX webhook_entregas_webhook_idx ON webhook_entregas (webhook_id, id);
