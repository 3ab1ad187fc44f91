-- Back to 2026-11-20-000000_atribuir_lote_direto's batch: the due probes, the webhook
-- subscription and the waiting queue read for every item.

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
#variable_conflict use_column
DECLARE
    v_contador BIGINT;
    v_inicio BIGINT;
    v_stamp TIMESTAMPTZ;
    v_numero TEXT;
    v_agora TIMESTAMPTZ;
    v_origem TEXT;
    v_idioma TEXT;
    v_id BIGINT;
    v_antes TIMESTAMPTZ;
    v_devido BOOLEAN;
    v_elegivel BOOLEAN;
    v_horarios TEXT;
    v_ausencias TEXT;
    v_hora TIMESTAMP;
    v_ganchos BOOLEAN;
BEGIN
    -- The counter row: locked (the lock its UPDATE takes: it changes no key column) and read
    -- once; each item found takes the next number and stamp from these values, and the last
    -- ones are written back once, after the loop.
    SELECT k.ultimo_numero, k.updated_at INTO v_contador, v_stamp
    FROM controle_protocolo k WHERE k.id = 1 FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    v_inicio := v_contador;
    -- The stamps below move the key and the daily counter and keep the entries in step
    -- themselves: the trigger consultores_fila_reavaliar must not mark the consultant for that,
    -- and protocolos_abertos_contagem leaves the count of the protocol opened to the stamp.
    -- Set for the whole loop: nothing else in it writes what either trigger watches (the
    -- evaluations of consultores_fila_avaliar write proxima_mudanca, disponibilidade_avaliada_em
    -- and consultor_fila only), so whether it is set there changes nothing.
    PERFORM set_config('consultores.atribuindo', 'sim', TRUE);
    FOR i IN 1 .. coalesce(array_length(p_agora, 1), 0) LOOP
        v_agora := p_agora[i];
        v_origem := p_origem[i];
        v_id := NULL;

        -- Availability that changed with the clock or through a write since the last assignment:
        -- the first entry of one partial index and the last of the other (min/max read one index
        -- entry whatever the plan; a comparison with v_agora in the query would get a generic plan
        -- that cannot know how few rows are due, and scan the table).
        -- In the same statement: whether any active webhook subscribes to assignments.
        SELECT (SELECT min(c.proxima_mudanca) FROM consultores c) <= v_agora
               OR (SELECT max(c.disponibilidade_avaliada_em) FROM consultores c) > v_agora,
               EXISTS (SELECT 1 FROM webhooks w
                       WHERE w.ativo AND position(',atribuicao,' IN ',' || w.eventos || ',') > 0)
        INTO v_devido, v_ganchos;
        IF v_devido THEN
            PERFORM consultores_fila_sincronizar(v_agora, p_fuso_padrao, NULL);
        END IF;

        -- The head: the first language, in the order given, with anyone eligible.
        FOREACH v_idioma IN ARRAY string_to_array(p_idiomas[i], ',') LOOP
            -- Contacts waiting in this language (as their idioma or one of their alternativas),
            -- not yet expired, go first: only the dispatcher serves them.
            CONTINUE WHEN v_origem IS DISTINCT FROM 'fila' AND EXISTS (
                SELECT 1 FROM fila f
                WHERE f.estado = 'aguardando' AND f.expira_em > v_agora
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
                -- at v_agora and the language.
                -- The terms of consultores_elegivel written out: PostgreSQL does not inline that
                -- function, and planning it on every call cost more than the rest of the step.
                -- The working hours and the leave in statements of their own, run only for a
                -- consultant who has them: their set-returning scans cost more to start than
                -- the rest of the re-check, with or without rules to read.
                SELECT c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
                       AND c.status_online
                       AND (c.limite_diario IS NULL
                            OR c.atendimentos_dia IS DISTINCT FROM
                               (v_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                            OR c.atendimentos_no_dia < c.limite_diario)
                       AND (c.limite_abertos IS NULL OR c.protocolos_abertos < c.limite_abertos)
                       AND EXISTS (SELECT 1 FROM consultor_idiomas ci
                                   WHERE ci.consultor_id = c.id AND ci.idioma = v_idioma),
                       c.horarios, c.ausencias,
                       CASE WHEN c.horarios IS NOT NULL OR c.ausencias IS NOT NULL
                            THEN v_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao)
                       END
                INTO v_elegivel, v_horarios, v_ausencias, v_hora
                FROM consultores c
                WHERE c.id = v_id;
                IF v_elegivel AND v_horarios IS NOT NULL THEN
                    v_elegivel := EXISTS (
                        SELECT 1 FROM jsonb_array_elements(v_horarios::jsonb) h
                        WHERE (h->>'dia')::INTEGER = extract(isodow FROM v_hora)
                          AND v_hora::TIME >= (h->>'inicio')::TIME
                          AND v_hora::TIME < (h->>'fim')::TIME);
                END IF;
                IF v_elegivel AND v_ausencias IS NOT NULL THEN
                    v_elegivel := NOT EXISTS (
                        SELECT 1 FROM jsonb_array_elements(v_ausencias::jsonb) a
                        WHERE v_hora::DATE BETWEEN (a->>'de')::DATE AND (a->>'ate')::DATE);
                END IF;
                EXIT WHEN v_elegivel;
                -- A stale entry: fixed, never served.
                PERFORM consultores_fila_sincronizar(v_agora, p_fuso_padrao, v_id);
                v_id := NULL;
            END LOOP;
            EXIT WHEN v_id IS NOT NULL;
        END LOOP;
        -- Nobody: no row, no number taken, nothing to undo (the queue entries re-evaluated
        -- above stay re-evaluated: they are what any later assignment would make them).
        CONTINUE WHEN v_id IS NULL;

        -- `now`, or 1 µs after the previous stamp when that is later: stamps strictly increase
        -- in commit order whatever the callers' clocks. The caller's `now` counts for at most
        -- the database's clock plus 1 second: one replica whose clock runs ahead cannot push
        -- every later stamp (audit times, retention cutoffs) into the future.
        v_contador := v_contador + 1;
        v_stamp := GREATEST(LEAST(v_agora, clock_timestamp() + INTERVAL '1 second'),
                            v_stamp + INTERVAL '1 microsecond');
        v_numero := '#' || CASE WHEN v_contador < 100000 THEN lpad(v_contador::TEXT, 5, '0')
                                ELSE v_contador::TEXT END;

        UPDATE consultores c
        SET ultimo_atendimento = v_stamp,
            chave_fila = CASE
                WHEN c.chave_fila IS NULL THEN (extract(epoch FROM v_stamp) * 1000000)::BIGINT
                ELSE c.chave_fila
                     + ((extract(epoch FROM v_stamp) * 1000000)::BIGINT - c.chave_fila)
                       / c.peso
            END,
            atendimentos_no_dia = CASE
                WHEN c.atendimentos_dia
                     = (v_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                THEN c.atendimentos_no_dia + 1 ELSE 1 END,
            atendimentos_dia
                = (v_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE,
            -- The protocol opened below (the trigger protocolos_abertos_contagem leaves the
            -- assignment's own insert to this).
            protocolos_abertos = c.protocolos_abertos + 1,
            -- A limit reached now takes them out at the next assignment (until then the
            -- head's re-check skips them).
            proxima_mudanca = CASE
                WHEN (c.limite_abertos IS NOT NULL
                      AND c.protocolos_abertos + 1 >= c.limite_abertos)
                  OR (c.limite_diario IS NOT NULL
                      AND (CASE WHEN c.atendimentos_dia
                                     = (v_agora AT TIME ZONE
                                        coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                                THEN c.atendimentos_no_dia + 1 ELSE 1 END)
                          >= c.limite_diario)
                THEN '-infinity'::TIMESTAMPTZ
                ELSE c.proxima_mudanca END
        WHERE c.id = v_id
        RETURNING c.id, c.nome::TEXT, c.email::TEXT, c.telefone::TEXT, c.status_ativo,
                  c.status_ativo_sequencial, c.status_online, c.ultimo_atendimento,
                  c.id_pipedrive, c.peso, c.limite_diario, c.limite_abertos, c.fuso_horario,
                  c.horarios, c.ausencias, c.chave_fila, c.atendimentos_dia,
                  c.atendimentos_no_dia, c.protocolos_abertos,
                  (SELECT string_agg(ci.idioma, ',' ORDER BY ci.posicao)
                     FROM consultor_idiomas ci WHERE ci.consultor_id = c.id)::TEXT
        INTO consultor_id, nome, email, telefone, status_ativo, status_ativo_sequencial,
             status_online, ultimo_atendimento, id_pipedrive, peso, limite_diario,
             limite_abertos, fuso_horario, horarios, ausencias, chave_fila, atendimentos_dia,
             atendimentos_no_dia, protocolos_abertos, idiomas;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
        END IF;
        INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at,
                                updated_at)
        VALUES (v_numero, v_id, v_idioma, 'normal', 'aberto', v_stamp, v_stamp)
        RETURNING protocolos.id, protocolos.numero::TEXT, protocolos.idioma::TEXT,
                  protocolos.descricao, protocolos.prioridade::TEXT, protocolos.status::TEXT,
                  protocolos.created_at, protocolos.updated_at
        INTO protocolo_id, numero, idioma, descricao, prioridade, status, created_at, updated_at;
        WITH moved AS (
            UPDATE consultor_fila q SET chave_fila = consultores_atribuir_lote.chave_fila
            WHERE q.consultor_id = v_id
            RETURNING q.consultor_id
        )
        INSERT INTO auditoria (em, chave_id, chave_descricao, request_id, acao, entidade,
                               entidade_id, alteracoes)
        SELECT v_stamp, p_chave_id[i], p_chave_descricao[i], p_request_id[i], p_acao,
               p_entidade, v_id,
               -- Byte for byte the text of the jsonb object built before (keys in jsonb's
               -- order: shorter first), without building it.
               '{"idioma": {"antes": null, "depois": '
               || coalesce(to_json(consultores_atribuir_lote.idioma)::TEXT, 'null')
               || '}, "protocolo_id": {"antes": null, "depois": '
               || consultores_atribuir_lote.protocolo_id
               || '}, "numero_protocolo": {"antes": null, "depois": '
               || coalesce(to_json(consultores_atribuir_lote.numero)::TEXT, 'null')
               || '}, "ultimo_atendimento": {"antes": '
               || coalesce('"' || to_char(v_antes AT TIME ZONE 'UTC',
                                          'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || '"',
                           'null')
               || ', "depois": "'
               || to_char(v_stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
               || '"}}';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
        END IF;

        -- With a CRM target and a consultant who has a Pipedrive user (a positive id: an
        -- adopted row may hold 0 or less, which is nobody): the owner change, then the note
        -- (ORDER BY gives the owner the lower id, so it is delivered first).
        crm_itens := 0;
        IF p_crm_tipo[i] IS NOT NULL AND id_pipedrive > 0 THEN
            INSERT INTO crm_outbox (protocolo_id, acao, alvo_tipo, alvo_id, owner_id, conteudo,
                                    estado, tentativas, proxima_tentativa, created_at,
                                    updated_at)
            SELECT consultores_atribuir_lote.protocolo_id, v.acao, p_crm_tipo[i], p_crm_alvo[i],
                   CASE WHEN v.acao = 'definir_responsavel'
                        THEN consultores_atribuir_lote.id_pipedrive END,
                   CASE WHEN v.acao = 'adicionar_nota'
                        THEN replace(replace(p_nota, '{numero}', consultores_atribuir_lote.numero),
                                     '{consultor}', consultores_atribuir_lote.nome)
                   END,
                   'pendente', 0, v_stamp, v_stamp, v_stamp
            FROM (VALUES (1, 'definir_responsavel'), (2, 'adicionar_nota')) AS v (ordem, acao)
            ORDER BY v.ordem;
            GET DIAGNOSTICS crm_itens = ROW_COUNT;
        END IF;

        -- Outbound webhooks: one delivery per active subscription to 'atribuicao', with the
        -- body the SQLite path builds in Rust (crates/persistence/src/webhooks.rs).
        IF v_ganchos THEN
            INSERT INTO webhook_entregas (webhook_id, evento, corpo, estado, tentativas,
                                          proxima_tentativa, created_at, updated_at)
            SELECT w.id, 'atribuicao',
                   jsonb_build_object(
                       'type', 'atribuicao',
                       'timestamp', to_char(v_stamp AT TIME ZONE 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                       'data', jsonb_build_object(
                           'origem', v_origem,
                           'protocolo', jsonb_build_object(
                               'id', consultores_atribuir_lote.protocolo_id,
                               'numero', consultores_atribuir_lote.numero,
                               'consultor_id', consultores_atribuir_lote.consultor_id,
                               'idioma', consultores_atribuir_lote.idioma,
                               'descricao', consultores_atribuir_lote.descricao,
                               'prioridade', consultores_atribuir_lote.prioridade,
                               'status', consultores_atribuir_lote.status,
                               'created_at', to_char(consultores_atribuir_lote.created_at
                                                     AT TIME ZONE 'UTC',
                                                     'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                               'updated_at', to_char(consultores_atribuir_lote.updated_at
                                                     AT TIME ZONE 'UTC',
                                                     'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
                           'consultor', jsonb_build_object(
                               'id', consultores_atribuir_lote.consultor_id,
                               'nome', consultores_atribuir_lote.nome,
                               'email', consultores_atribuir_lote.email,
                               'telefone', consultores_atribuir_lote.telefone,
                               'status_online', consultores_atribuir_lote.status_online)))::TEXT,
                   'pendente', 0, v_stamp, v_stamp, v_stamp
            FROM webhooks w
            WHERE w.ativo AND position(',atribuicao,' IN ',' || w.eventos || ',') > 0;
        END IF;

        item := i;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('consultores.atribuindo', '', TRUE);
    IF v_contador <> v_inicio THEN
        UPDATE controle_protocolo SET ultimo_numero = v_contador, updated_at = v_stamp
        WHERE id = 1;
    END IF;
END
$$;

ALTER FUNCTION consultores_atribuir_lote(TEXT[], TIMESTAMPTZ[], TEXT, BIGINT[], TEXT[], TEXT[],
                                         TEXT, TEXT, TEXT[], TEXT[], TEXT, TEXT[])
    SET plan_cache_mode = force_generic_plan;
