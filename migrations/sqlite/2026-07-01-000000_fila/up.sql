-- The waiting queue (see the PostgreSQL migration of the same name). Timestamps are TEXT in the
-- fixed-width UTC format of the other tables, so they compare as text in time order.
CREATE TABLE fila (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idioma TEXT NOT NULL,
    alternativas TEXT NOT NULL DEFAULT '',
    referencia TEXT,
    descricao TEXT,
    prioridade TEXT NOT NULL DEFAULT 'normal',
    crm_tipo TEXT,
    crm_alvo TEXT,
    estado TEXT NOT NULL DEFAULT 'aguardando',
    criado_em TEXT NOT NULL,
    expira_em TEXT NOT NULL,
    atribuido_em TEXT,
    encerrado_em TEXT,
    protocolo_id INTEGER REFERENCES protocolos (id),
    CONSTRAINT fila_estado_check
        CHECK (estado IN ('aguardando', 'atribuido', 'cancelado', 'expirado')),
    CONSTRAINT fila_atribuido_check CHECK ((estado = 'atribuido') = (protocolo_id IS NOT NULL)),
    CONSTRAINT fila_crm_check CHECK (
        (crm_tipo IS NULL AND crm_alvo IS NULL)
        OR (crm_tipo IN ('deal', 'lead', 'person') AND crm_alvo IS NOT NULL))
);

CREATE INDEX fila_aguardando_idx ON fila (id) WHERE estado = 'aguardando';
CREATE INDEX fila_estado_idx ON fila (estado, id);
CREATE UNIQUE INDEX fila_protocolo_idx ON fila (protocolo_id) WHERE protocolo_id IS NOT NULL;
