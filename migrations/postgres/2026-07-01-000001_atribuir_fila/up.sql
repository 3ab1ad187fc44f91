-- The waiting queue (migration 2026-07-01-000000_fila) changes the rotation's atomic step in ONE
-- way: while contacts wait in a language, an assignment that does not come from the queue's
-- dispatcher ('da-vez', 'pipedrive') finds nobody available in that language, so it cannot
-- jump them. The function gains `p_origem` ('da-vez' | 'fila' | 'pipedrive'); everything else
-- is the text of 2026-05-01-000000_atribuir unchanged. The old signature is dropped so that no
-- caller can reach the function without saying where the assignment comes from.
DROP FUNCTION IF EXISTS consultores_atribuir(TEXT, TIMESTAMPTZ, BIGINT, TEXT, TEXT, TEXT, TEXT,
                                             TEXT, TEXT, TEXT);

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
