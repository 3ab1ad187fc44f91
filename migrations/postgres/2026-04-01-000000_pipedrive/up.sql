-- The Pipedrive integration: the outbox of CRM actions decided by the rotation, and the webhook
-- events received from Pipedrive. Both are work queues shared by every replica: a worker claims
-- rows with FOR UPDATE SKIP LOCKED (independent items, so skipping a row another worker holds
-- is exactly right) and leases them (bloqueado_ate), so each row is worked on by one worker at a
-- time and comes back by itself if that worker dies.

-- One action for the CRM: make the consultant the owner of a deal, lead or person
-- (definir_responsavel, owner_id set), or add a note to it (adicionar_nota, conteudo set).
-- Written in the same transaction as the assignment that decided it.
CREATE TABLE IF NOT EXISTS crm_outbox (
    id BIGSERIAL PRIMARY KEY,
    protocolo_id BIGINT CONSTRAINT crm_outbox_protocolo_id_fkey REFERENCES protocolos (id),
    acao VARCHAR(30) NOT NULL,
    alvo_tipo VARCHAR(10) NOT NULL,
    alvo_id VARCHAR(64) NOT NULL,
    owner_id BIGINT,
    conteudo TEXT,
    -- pendente | concluido | falhou
    estado VARCHAR(10) NOT NULL DEFAULT 'pendente',
    tentativas INTEGER NOT NULL DEFAULT 0,
    proxima_tentativa TIMESTAMPTZ NOT NULL,
    -- The lease of the worker that claimed the row; NULL or past: free to claim.
    bloqueado_ate TIMESTAMPTZ,
    -- The reason of the last failure: temporary while pendente, final once falhou.
    ultimo_erro TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT crm_outbox_acao_check CHECK (
        (acao = 'definir_responsavel' AND owner_id IS NOT NULL)
        OR (acao = 'adicionar_nota' AND conteudo IS NOT NULL)),
    CONSTRAINT crm_outbox_alvo_tipo_check CHECK (alvo_tipo IN ('deal', 'lead', 'person')),
    CONSTRAINT crm_outbox_estado_check CHECK (estado IN ('pendente', 'concluido', 'falhou'))
);

-- The worker's claim: pending rows that are due, in due order.
CREATE INDEX IF NOT EXISTS crm_outbox_estado_proxima_idx ON crm_outbox (estado, proxima_tentativa);
-- GET /protocolo/{id} and the da-vez answer: a protocol's actions.
CREATE INDEX IF NOT EXISTS crm_outbox_protocolo_idx ON crm_outbox (protocolo_id, id);
-- Recognising the echo of our own owner update: the owner last decided for a record.
CREATE INDEX IF NOT EXISTS crm_outbox_alvo_idx ON crm_outbox (alvo_tipo, alvo_id, id);

-- One webhook delivery from Pipedrive, recorded as it arrives (the endpoint answers at once) and
-- processed by the worker. chave is equal for every redelivery of one event, so a redelivered
-- webhook is stored, and assigned, once.
CREATE TABLE IF NOT EXISTS pipedrive_webhook_eventos (
    id BIGSERIAL PRIMARY KEY,
    chave VARCHAR(255) NOT NULL CONSTRAINT pipedrive_webhook_eventos_chave_key UNIQUE,
    acao VARCHAR(30) NOT NULL,
    entidade VARCHAR(30) NOT NULL,
    entidade_id VARCHAR(64) NOT NULL,
    tentativa INTEGER NOT NULL,
    payload TEXT NOT NULL,
    -- pendente | concluido | ignorado | falhou
    estado VARCHAR(10) NOT NULL DEFAULT 'pendente',
    motivo TEXT,
    protocolo_id BIGINT CONSTRAINT pipedrive_webhook_eventos_protocolo_id_fkey REFERENCES protocolos (id),
    recebido_em TIMESTAMPTZ NOT NULL,
    processado_em TIMESTAMPTZ,
    bloqueado_ate TIMESTAMPTZ,
    CONSTRAINT pipedrive_webhook_eventos_estado_check
        CHECK (estado IN ('pendente', 'concluido', 'ignorado', 'falhou'))
);

-- The worker's claim: the (few) pending events, oldest first.
CREATE INDEX IF NOT EXISTS pipedrive_webhook_eventos_pendentes_idx
    ON pipedrive_webhook_eventos (id) WHERE estado = 'pendente';
