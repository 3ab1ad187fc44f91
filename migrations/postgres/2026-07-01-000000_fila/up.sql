-- The waiting queue: contacts that found nobody free wait here, in arrival order (id), until the
-- dispatcher hands them to a consultant through the rotation's atomic assignment, they expire
-- (expira_em) or they are cancelled. `alternativas` holds the other languages the contact
-- accepts, comma-separated in order ('' for none): the queue's SQL only ever asks "does this
-- entry accept language L" (see consultores_atribuir), which a list of at most a few codes
-- answers without a table of its own.
CREATE TABLE fila (
    id BIGSERIAL PRIMARY KEY,
    idioma VARCHAR(5) NOT NULL,
    alternativas TEXT NOT NULL DEFAULT '',
    referencia VARCHAR(255),
    descricao TEXT,
    prioridade VARCHAR(10) NOT NULL DEFAULT 'normal',
    crm_tipo VARCHAR(10),
    crm_alvo VARCHAR(64),
    estado VARCHAR(12) NOT NULL DEFAULT 'aguardando',
    criado_em TIMESTAMPTZ NOT NULL,
    expira_em TIMESTAMPTZ NOT NULL,
    atribuido_em TIMESTAMPTZ,
    encerrado_em TIMESTAMPTZ,
    protocolo_id BIGINT REFERENCES protocolos (id),
    CONSTRAINT fila_estado_check
        CHECK (estado IN ('aguardando', 'atribuido', 'cancelado', 'expirado')),
    CONSTRAINT fila_atribuido_check CHECK ((estado = 'atribuido') = (protocolo_id IS NOT NULL)),
    CONSTRAINT fila_crm_check CHECK (
        (crm_tipo IS NULL AND crm_alvo IS NULL)
        OR (crm_tipo IN ('deal', 'lead', 'person') AND crm_alvo IS NOT NULL))
);

-- The dispatcher's and da-vez's one question: the waiting entries, oldest first.
CREATE INDEX fila_aguardando_idx ON fila (id) WHERE estado = 'aguardando';
-- Listings filtered by state.
CREATE INDEX fila_estado_idx ON fila (estado, id);
-- A protocol serves at most one entry.
CREATE UNIQUE INDEX fila_protocolo_idx ON fila (protocolo_id) WHERE protocolo_id IS NOT NULL;
