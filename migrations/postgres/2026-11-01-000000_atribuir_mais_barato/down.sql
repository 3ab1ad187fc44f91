-- Back to 2026-10-01-000000_fila_por_idioma's assignment, 2026-10-15-000000_atribuir_lote's
-- batch (a subtransaction per item) and the trigger of 2026-06-01-000000_regras_de_rodizio (it
-- counts every protocol insert again).

DROP TRIGGER IF EXISTS protocolos_abertos_contagem ON protocolos;
CREATE TRIGGER protocolos_abertos_contagem
    AFTER INSERT OR UPDATE OF status, consultor_id ON protocolos
    FOR EACH ROW EXECUTE FUNCTION consultores_contar_abertos();

CREATE OR REPLACE FUNCTION consultores_atribuir(
    p_idiomas TEXT[],
    p_agora TIMESTAMPTZ,
    p_fuso_padrao TEXT,
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
    id_pipedrive BIGINT, peso INTEGER, limite_diario INTEGER, limite_abertos INTEGER,
    fuso_horario TEXT, horarios TEXT, ausencias TEXT, chave_fila BIGINT, atendimentos_dia DATE,
    atendimentos_no_dia INTEGER, protocolos_abertos INTEGER,
    idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_contador BIGINT;
    v_stamp TIMESTAMPTZ;
    v_numero TEXT;
    v_idioma TEXT;
    v_id BIGINT;
    v_antes TIMESTAMPTZ;
BEGIN
    -- `now`, or 1 µs after the previous holder's stamp when that is later: stamps strictly
    -- increase in commit order whatever the callers' clocks. The caller's `now` counts for at
    -- most the database's clock plus 1 second: one replica whose clock runs ahead cannot push
    -- every later stamp (audit times, retention cutoffs) into the future.
    UPDATE controle_protocolo
    SET ultimo_numero = ultimo_numero + 1,
        updated_at = GREATEST(LEAST(p_agora, clock_timestamp() + INTERVAL '1 second'),
                              updated_at + INTERVAL '1 microsecond')
    WHERE id = 1
    RETURNING ultimo_numero, updated_at INTO v_contador, v_stamp;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    v_numero := '#' || CASE WHEN v_contador < 100000 THEN lpad(v_contador::TEXT, 5, '0')
                            ELSE v_contador::TEXT END;

    -- Availability that changed with the clock or through a write since the last assignment:
    -- the first entry of one partial index and the last of the other (min/max read one index
    -- entry whatever the plan; a comparison with p_agora in the query would get a generic plan
    -- that cannot know how few rows are due, and scan the table).
    IF (SELECT min(c.proxima_mudanca) FROM consultores c) <= p_agora
       OR (SELECT max(c.disponibilidade_avaliada_em) FROM consultores c) > p_agora THEN
        PERFORM consultores_fila_sincronizar(p_agora, p_fuso_padrao, NULL);
    END IF;

    -- The head: the first language, in the order given, with anyone eligible.
    FOREACH v_idioma IN ARRAY p_idiomas LOOP
        -- Contacts waiting in this language (as their idioma or one of their alternativas),
        -- not yet expired, go first: only the dispatcher serves them.
        CONTINUE WHEN p_origem IS DISTINCT FROM 'fila' AND EXISTS (
            SELECT 1 FROM fila f
            WHERE f.estado = 'aguardando' AND f.expira_em > p_agora
              AND (f.idioma = v_idioma
                   OR position(',' || v_idioma || ',' IN ',' || f.alternativas || ',') > 0));
        LOOP
            SELECT c.id, c.ultimo_atendimento INTO v_id, v_antes
            FROM consultor_fila f JOIN consultores c ON c.id = f.consultor_id
            WHERE f.idioma = v_idioma
            ORDER BY f.chave_fila ASC NULLS FIRST, f.consultor_id ASC
            LIMIT 1
            FOR UPDATE OF c;
            EXIT WHEN NOT FOUND;
            -- Re-checked on the locked row in a new statement (a fresh snapshot): the rules
            -- at p_agora and the language.
            -- The terms of consultores_elegivel written out: PostgreSQL does not inline that
            -- function, and planning it on every call cost more than the rest of the step.
            PERFORM 1 FROM consultores c
            CROSS JOIN LATERAL (
                SELECT p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao) AS hora
            ) l
            WHERE c.id = v_id
              AND c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
              AND c.status_online
              AND EXISTS (SELECT 1 FROM consultor_idiomas ci
                          WHERE ci.consultor_id = c.id AND ci.idioma = v_idioma)
              AND (c.horarios IS NULL OR EXISTS (
                    SELECT 1 FROM jsonb_array_elements(c.horarios::jsonb) h
                    WHERE (h->>'dia')::INTEGER = extract(isodow FROM l.hora)
                      AND l.hora::TIME >= (h->>'inicio')::TIME
                      AND l.hora::TIME < (h->>'fim')::TIME))
              AND (c.ausencias IS NULL OR NOT EXISTS (
                    SELECT 1 FROM jsonb_array_elements(c.ausencias::jsonb) a
                    WHERE l.hora::DATE BETWEEN (a->>'de')::DATE AND (a->>'ate')::DATE))
              AND (c.limite_diario IS NULL OR c.atendimentos_dia IS DISTINCT FROM l.hora::DATE
                   OR c.atendimentos_no_dia < c.limite_diario)
              AND (c.limite_abertos IS NULL OR c.protocolos_abertos < c.limite_abertos);
            EXIT WHEN FOUND;
            -- A stale entry: fixed, never served.
            PERFORM consultores_fila_sincronizar(p_agora, p_fuso_padrao, v_id);
            v_id := NULL;
        END LOOP;
        EXIT WHEN v_id IS NOT NULL;
    END LOOP;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
    END IF;

    -- The stamp below moves the key and the daily counter and keeps the entries in step itself:
    -- the trigger consultores_fila_reavaliar must not mark the consultant for that.
    PERFORM set_config('consultores.atribuindo', 'sim', TRUE);
    RETURN QUERY
    WITH stamped AS (
        UPDATE consultores c
        SET ultimo_atendimento = v_stamp,
            chave_fila = CASE
                WHEN c.chave_fila IS NULL THEN (extract(epoch FROM v_stamp) * 1000000)::BIGINT
                ELSE c.chave_fila
                     + ((extract(epoch FROM v_stamp) * 1000000)::BIGINT - c.chave_fila) / c.peso
            END,
            atendimentos_no_dia = CASE
                WHEN c.atendimentos_dia
                     = (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                THEN c.atendimentos_no_dia + 1 ELSE 1 END,
            atendimentos_dia = (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE,
            -- A limit reached now takes them out at the next assignment (until then the head's
            -- re-check skips them).
            proxima_mudanca = CASE
                WHEN (c.limite_abertos IS NOT NULL
                      AND c.protocolos_abertos + 1 >= c.limite_abertos)
                  OR (c.limite_diario IS NOT NULL
                      AND (CASE WHEN c.atendimentos_dia
                                     = (p_agora AT TIME ZONE
                                        coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                                THEN c.atendimentos_no_dia + 1 ELSE 1 END) >= c.limite_diario)
                THEN '-infinity'::TIMESTAMPTZ
                ELSE c.proxima_mudanca END
        WHERE c.id = v_id
        RETURNING c.*
    ), moved AS (
        UPDATE consultor_fila q SET chave_fila = s.chave_fila
        FROM stamped s
        WHERE q.consultor_id = s.id
        RETURNING q.consultor_id
    ), opened AS (
        INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at,
                                updated_at)
        SELECT v_numero, stamped.id, v_idioma, 'normal', 'aberto', v_stamp, v_stamp FROM stamped
        RETURNING id, numero, consultor_id, idioma, descricao, prioridade, status, created_at,
                  updated_at
    ), audited AS (
        INSERT INTO auditoria (em, chave_id, chave_descricao, request_id, acao, entidade,
                               entidade_id, alteracoes)
        SELECT v_stamp, p_chave_id, p_chave_descricao, p_request_id, p_acao, p_entidade, v_id,
               jsonb_build_object(
                   'ultimo_atendimento', jsonb_build_object(
                       'antes', to_char(v_antes AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                       'depois', to_char(v_stamp AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
                   'protocolo_id', jsonb_build_object('antes', NULL, 'depois', o.id),
                   'numero_protocolo', jsonb_build_object('antes', NULL, 'depois', o.numero),
                   'idioma', jsonb_build_object('antes', NULL, 'depois', o.idioma))::TEXT
        FROM opened o
    ), crm AS (
        -- With a CRM target and a consultant who has a Pipedrive user (a positive id: an
        -- adopted row may hold 0 or less, which is nobody): the owner change, then the note
        -- (ORDER BY gives the owner the lower id, so it is delivered first).
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
        WHERE p_crm_tipo IS NOT NULL AND s.id_pipedrive IS NOT NULL AND s.id_pipedrive > 0
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
           s.peso, s.limite_diario, s.limite_abertos, s.fuso_horario, s.horarios, s.ausencias,
           s.chave_fila, s.atendimentos_dia, s.atendimentos_no_dia,
           -- The trigger counts the new protocol after this statement.
           s.protocolos_abertos + 1,
           (SELECT string_agg(ci.idioma, ',' ORDER BY ci.posicao)
              FROM consultor_idiomas ci WHERE ci.consultor_id = s.id)::TEXT,
           o.id, o.numero::TEXT, o.idioma::TEXT, o.descricao, o.prioridade::TEXT, o.status::TEXT,
           o.created_at, o.updated_at,
           (SELECT count(*) FROM crm)
    FROM stamped s CROSS JOIN opened o;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
    END IF;
    PERFORM set_config('consultores.atribuindo', '', TRUE);
END
$$;

ALTER FUNCTION consultores_atribuir(TEXT[], TIMESTAMPTZ, TEXT, BIGINT, TEXT, TEXT, TEXT, TEXT,
                                    TEXT, TEXT, TEXT, TEXT)
    SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE FUNCTION consultores_atribuir_lote(
    p_idiomas TEXT[],
    p_agora TIMESTAMPTZ[],
    p_fuso_padrao TEXT,
    p_chave_id BIGINT[],
    p_chave_descricao TEXT[],
    p_request_id TEXT[],
    p_acao TEXT,
    p_entidade TEXT,
    p_crm_tipo TEXT[],
    p_crm_alvo TEXT[],
    p_nota TEXT,
    p_origem TEXT[]
) RETURNS TABLE (
    item INTEGER,
    consultor_id BIGINT, nome TEXT, email TEXT, telefone TEXT, status_ativo BOOLEAN,
    status_ativo_sequencial BOOLEAN, status_online BOOLEAN, ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT, peso INTEGER, limite_diario INTEGER, limite_abertos INTEGER,
    fuso_horario TEXT, horarios TEXT, ausencias TEXT, chave_fila BIGINT, atendimentos_dia DATE,
    atendimentos_no_dia INTEGER, protocolos_abertos INTEGER,
    idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_mensagem TEXT;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_agora, 1), 0) LOOP
        BEGIN
            RETURN QUERY
            SELECT i, a.*
            FROM consultores_atribuir(string_to_array(p_idiomas[i], ','), p_agora[i],
                                      p_fuso_padrao, p_chave_id[i], p_chave_descricao[i],
                                      p_request_id[i], p_acao, p_entidade, p_crm_tipo[i],
                                      p_crm_alvo[i], p_nota, p_origem[i]) a;
        EXCEPTION WHEN SQLSTATE 'P0002' THEN
            GET STACKED DIAGNOSTICS v_mensagem = MESSAGE_TEXT;
            IF v_mensagem IS DISTINCT FROM 'NOBODY_AVAILABLE' THEN
                RAISE;
            END IF;
        END;
    END LOOP;
END
$$;

DROP FUNCTION IF EXISTS consultores_atribuir_passo(TEXT[], TIMESTAMPTZ, TEXT, BIGINT, TEXT, TEXT,
    TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
