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

-- (continued from the table definitions above) The rotation's atomic step queues the
-- `atribuicao` deliveries in its own statement, so they commit or roll back with the
-- assignment: consultores_atribuir as in 2026-07-01-000001_atribuir_fila plus the CTE `hooks`.
CREATE OR REPLACE FUNCTION consultores_atribuir(
    p_idioma TEXT,
    p_agora TIMESTAMPTZ,
    p_chave_id BIGINT,
    p_chave_descricao TEXT,
    p_request_id TEXT,
    p_acao TEXT,
    p_entidade TEXT,
    p_crm_tipo TEXT,
    p_crm_alvo TEXT,
    p_nota TEXT,
    p_origem TEXT
) RETURNS TABLE (
    consultor_id BIGINT, nome TEXT, email TEXT, telefone TEXT, status_ativo BOOLEAN,
    status_ativo_sequencial BOOLEAN, status_online BOOLEAN, ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT, idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_contador BIGINT;
    v_stamp TIMESTAMPTZ;
    v_numero TEXT;
BEGIN
    -- `now`, or 1 µs after the previous holder's stamp when that is later: stamps strictly
    -- increase in commit order whatever the callers' clocks.
    UPDATE controle_protocolo
    SET ultimo_numero = ultimo_numero + 1,
        updated_at = GREATEST(p_agora, updated_at + INTERVAL '1 microsecond')
    WHERE id = 1
    RETURNING ultimo_numero, updated_at INTO v_contador, v_stamp;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    -- Waiting queue: contacts waiting in this language (as their idioma or one of their
    -- alternativas) and not yet expired go first; only the dispatcher ('fila') serves them.
    -- Raising here also undoes the counter update above (gapless).
    IF p_origem IS DISTINCT FROM 'fila' AND EXISTS (
        SELECT 1 FROM fila f
        WHERE f.estado = 'aguardando' AND f.expira_em > p_agora
          AND (f.idioma = p_idioma
               OR position(',' || p_idioma || ',' IN ',' || f.alternativas || ',') > 0)
    ) THEN
        RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
    END IF;
    v_numero := '#' || CASE WHEN v_contador < 100000 THEN lpad(v_contador::TEXT, 5, '0')
                            ELSE v_contador::TEXT END;

    RETURN QUERY
    WITH head AS (
        -- The same terms as the partial index consultores_rotation_idx, so the planner walks it
        -- in queue order: never served first, then the longest wait, ties by the lower id.
        SELECT c.id, c.ultimo_atendimento
        FROM consultores c
        WHERE c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
          AND c.status_online
          AND EXISTS (SELECT 1 FROM consultor_idiomas ci
                      WHERE ci.consultor_id = c.id AND ci.idioma = p_idioma)
        ORDER BY c.ultimo_atendimento ASC NULLS FIRST, c.id ASC
        LIMIT 1
        FOR UPDATE OF c
    ), stamped AS (
        UPDATE consultores c SET ultimo_atendimento = v_stamp
        FROM head
        WHERE c.id = head.id
        RETURNING c.id, c.nome, c.email, c.telefone, c.status_ativo, c.status_ativo_sequencial,
                  c.status_online, c.ultimo_atendimento, c.id_pipedrive
    ), opened AS (
        INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at,
                                updated_at)
        SELECT v_numero, stamped.id, p_idioma, 'normal', 'aberto', v_stamp, v_stamp FROM stamped
        RETURNING id, numero, consultor_id, idioma, descricao, prioridade, status, created_at,
                  updated_at
    ), audited AS (
        INSERT INTO auditoria (em, chave_id, chave_descricao, request_id, acao, entidade,
                               entidade_id, alteracoes)
        SELECT v_stamp, p_chave_id, p_chave_descricao, p_request_id, p_acao, p_entidade, h.id,
               jsonb_build_object(
                   'ultimo_atendimento', jsonb_build_object(
                       'antes', to_char(h.ultimo_atendimento AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                       'depois', to_char(v_stamp AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
                   'protocolo_id', jsonb_build_object('antes', NULL, 'depois', o.id),
                   'numero_protocolo', jsonb_build_object('antes', NULL, 'depois', o.numero),
                   'idioma', jsonb_build_object('antes', NULL, 'depois', o.idioma))::TEXT
        FROM head h CROSS JOIN opened o
    ), crm AS (
        -- With a CRM target and a consultant who has a Pipedrive user: the owner change, then
        -- the note (ORDER BY gives the owner the lower id, so it is delivered first).
        INSERT INTO crm_outbox (protocolo_id, acao, alvo_tipo, alvo_id, owner_id, conteudo,
                                estado, tentativas, proxima_tentativa, created_at, updated_at)
        SELECT o.id, v.acao, p_crm_tipo, p_crm_alvo,
               CASE WHEN v.acao = 'definir_responsavel' THEN s.id_pipedrive END,
               CASE WHEN v.acao = 'adicionar_nota'
                    THEN replace(replace(p_nota, '{numero}', o.numero), '{consultor}', s.nome)
               END,
               'pendente', 0, v_stamp, v_stamp, v_stamp
        FROM stamped s CROSS JOIN opened o
             CROSS JOIN (VALUES (1, 'definir_responsavel'), (2, 'adicionar_nota'))
                 AS v (ordem, acao)
        WHERE p_crm_tipo IS NOT NULL AND s.id_pipedrive IS NOT NULL
        ORDER BY v.ordem
        RETURNING id
    ), hooks AS (
        -- Outbound webhooks: one delivery per active subscription to 'atribuicao', with the
        -- body the SQLite path builds in Rust (crates/persistence/src/webhooks.rs). A
        -- data-modifying CTE runs whether or not the final SELECT reads it.
        INSERT INTO webhook_entregas (webhook_id, evento, corpo, estado, tentativas,
                                      proxima_tentativa, created_at, updated_at)
        SELECT w.id, 'atribuicao',
               jsonb_build_object(
                   'type', 'atribuicao',
                   'timestamp', to_char(v_stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                   'data', jsonb_build_object(
                       'origem', p_origem,
                       'protocolo', jsonb_build_object(
                           'id', o.id, 'numero', o.numero, 'consultor_id', o.consultor_id,
                           'idioma', o.idioma, 'descricao', o.descricao,
                           'prioridade', o.prioridade, 'status', o.status,
                           'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                           'updated_at', to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
                       'consultor', jsonb_build_object(
                           'id', s.id, 'nome', s.nome, 'email', s.email,
                           'telefone', s.telefone, 'status_online', s.status_online)))::TEXT,
               'pendente', 0, v_stamp, v_stamp, v_stamp
        FROM stamped s CROSS JOIN opened o CROSS JOIN webhooks w
        WHERE w.ativo AND position(',atribuicao,' IN ',' || w.eventos || ',') > 0
        RETURNING id
    )
    SELECT s.id, s.nome::TEXT, s.email::TEXT, s.telefone::TEXT, s.status_ativo,
           s.status_ativo_sequencial, s.status_online, s.ultimo_atendimento, s.id_pipedrive,
           (SELECT string_agg(ci.idioma, ',' ORDER BY ci.posicao)
              FROM consultor_idiomas ci WHERE ci.consultor_id = s.id)::TEXT,
           o.id, o.numero::TEXT, o.idioma::TEXT, o.descricao, o.prioridade::TEXT, o.status::TEXT,
           o.created_at, o.updated_at,
           (SELECT count(*) FROM crm)
    FROM stamped s CROSS JOIN opened o;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
    END IF;
END
$$;
