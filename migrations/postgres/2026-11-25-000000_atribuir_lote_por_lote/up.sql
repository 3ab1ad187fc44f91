-- The batch of assignments with less work per item (issue 15): PostgreSQL spent about 1.3 M
-- instructions per assignment under the counter row's lock (callgrind of a single-user backend,
-- batches of 16, 50 consultants); this body spends about 0.7 M. Same signature, same rows
-- returned, same rows written, same lock order (counter row, then consultant rows) as
-- 2026-11-20-000000_atribuir_lote_direto; what each item paid for and no longer does:
--
-- * The due probes (min(proxima_mudanca), max(disponibilidade_avaliada_em)), the webhook
--   subscription and the waiting queue, a statement at the top of every item (about 230 k
--   instructions, and 30 k for the queue's EXISTS): read once per batch, after the lock. Each
--   item compares the probes with its own `now`, as its single call would. In the loop they
--   change only through an evaluation (consultores_fila_sincronizar: read again at the next
--   item) or a stamp that reaches a limit (it writes '-infinity': kept as the minimum); the
--   stamps and inserts fire no trigger that writes them (consultores.atribuindo is set), and
--   nothing in the loop writes the queue or the webhooks. The queue's EXISTS runs only when a
--   contact waits past the item's `now`. A change that another transaction commits while the
--   batch runs is seen by the next batch: every request of the batch was sent before it began.
-- * Sequential scans: on the tables of a small team (50 consultants: two pages) the statistics
--   make every lookup by key a sequential scan (the probes, the re-check and the stamp by id,
--   the queue key by consultant, the foreign key's check), and each scan also walks the dead
--   versions the previous assignments left. The function runs with enable_seqscan off (every
--   statement in it has an index for what it reads) and jit off (the disabled scans' cost would
--   otherwise start the JIT compiler on a statement of a few rows).
-- * The re-check, a statement of its own (about 180 k): the head's row is the one FOR UPDATE
--   locked, its latest version (READ COMMITTED returns the version a PUT that held it
--   committed), and nobody else can change it before the batch commits: the rules are computed
--   from the head's columns by expressions of the function (compiled once per transaction,
--   where a statement's expressions are compiled on every run), the stamp's new values too. The
--   language, in another table, is checked by the stamp in its own statement (a fresh
--   snapshot), which returns the consultant's languages (the RETURNING subquery before). The
--   working hours and leave keep their statements, run only for a consultant who has them.
-- * The head as a join (a nested loop, a memoize node and a limit, each building the tuple
--   descriptor of its columns on every run): the head's id in a subquery, the consultant's row
--   read by it.
-- * The audit text, built in the INSERT (compiled on every run): an expression of the function.

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
    v_proxima TIMESTAMPTZ;
    v_avaliada TIMESTAMPTZ;
    v_reler BOOLEAN := FALSE;
    v_espera TIMESTAMPTZ;
    v_marcada TIMESTAMPTZ;
    v_removido TIMESTAMPTZ;
    v_idiomas TEXT[];
    v_elegivel BOOLEAN;
    v_hora TIMESTAMP;
    v_novo TIMESTAMPTZ;
    v_dia DATE;
    v_no_dia INTEGER;
    v_chave BIGINT;
    v_alteracoes TEXT;
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
    -- Once for the batch, after the lock (what the previous holder committed is seen): the
    -- earliest next change and the latest evaluation, compared with each item's `now` below (a
    -- comparison with v_agora in the query would get a generic plan that cannot know how few
    -- rows are due, and scan the table); whether any active webhook subscribes to assignments;
    -- the latest expiry of a contact waiting in the queue (NULL: nobody waits).
    SELECT (SELECT min(c.proxima_mudanca) FROM consultores c),
           (SELECT max(c.disponibilidade_avaliada_em) FROM consultores c),
           EXISTS (SELECT 1 FROM webhooks w
                   WHERE w.ativo AND position(',atribuicao,' IN ',' || w.eventos || ',') > 0),
           (SELECT max(f.expira_em) FROM fila f WHERE f.estado = 'aguardando')
    INTO v_proxima, v_avaliada, v_ganchos, v_espera;
    FOR i IN 1 .. coalesce(array_length(p_agora, 1), 0) LOOP
        v_agora := p_agora[i];
        v_origem := p_origem[i];
        v_id := NULL;

        -- Availability that changed with the clock or through a write since the last assignment,
        -- as the probe of a single call would find it: the two values only change in this loop
        -- through an evaluation (read again after one) or a stamp that reaches a limit (it sets
        -- '-infinity', kept below); the stamps and the inserts fire no trigger that writes them
        -- (consultores.atribuindo is set).
        IF v_reler THEN
            SELECT (SELECT min(c.proxima_mudanca) FROM consultores c),
                   (SELECT max(c.disponibilidade_avaliada_em) FROM consultores c)
            INTO v_proxima, v_avaliada;
            v_reler := FALSE;
        END IF;
        IF v_proxima <= v_agora OR v_avaliada > v_agora THEN
            PERFORM consultores_fila_sincronizar(v_agora, p_fuso_padrao, NULL);
            v_reler := TRUE;
        END IF;

        -- The head: the first language, in the order given, with anyone eligible.
        FOREACH v_idioma IN ARRAY string_to_array(p_idiomas[i], ',') LOOP
            -- Contacts waiting in this language (as their idioma or one of their alternativas),
            -- not yet expired, go first: only the dispatcher serves them.
            -- Nothing in the loop writes the queue: with nobody waiting past v_agora (the
            -- latest expiry read above), the query is not run.
            IF v_origem IS DISTINCT FROM 'fila' AND v_espera > v_agora THEN
                CONTINUE WHEN EXISTS (
                    SELECT 1 FROM fila f
                    WHERE f.estado = 'aguardando' AND f.expira_em > v_agora
                      AND (f.idioma = v_idioma
                           OR position(',' || v_idioma || ',' IN ',' || f.alternativas || ',')
                              > 0));
            END IF;
            LOOP
                -- The head, its consultant's row locked: READ COMMITTED's FOR UPDATE returns the
                -- row's latest version (the one a PUT that held it committed), and nobody else
                -- can change it until the batch commits, so its columns are read here once, and
                -- the rules and the stamp below are computed from them.
                SELECT c.id, c.nome::TEXT, c.email::TEXT, c.telefone::TEXT, c.status_ativo,
                       c.status_ativo_sequencial, c.status_online, c.ultimo_atendimento,
                       c.id_pipedrive, c.peso, c.limite_diario, c.limite_abertos, c.fuso_horario,
                       c.horarios, c.ausencias, c.chave_fila, c.atendimentos_dia,
                       c.atendimentos_no_dia, c.protocolos_abertos, c.removido_em,
                       c.proxima_mudanca
                INTO v_id, nome, email, telefone, status_ativo, status_ativo_sequencial,
                     status_online, v_antes, id_pipedrive, peso, limite_diario, limite_abertos,
                     fuso_horario, horarios, ausencias, chave_fila, atendimentos_dia,
                     atendimentos_no_dia, protocolos_abertos, v_removido, v_marcada
                FROM consultores c
                WHERE c.id = (SELECT f.consultor_id FROM consultor_fila f
                              WHERE f.idioma = v_idioma
                              ORDER BY f.chave_fila ASC NULLS FIRST, f.consultor_id ASC
                              LIMIT 1)
                FOR UPDATE OF c;
                EXIT WHEN NOT FOUND;
                -- The rules at v_agora (the terms of consultores_elegivel), as expressions of the
                -- function (compiled once per transaction, where a statement's are compiled on
                -- every run). The working hours and the leave in statements of their own, run
                -- only for a consultant who has them. The language is checked by the stamp, in
                -- a statement of its own (a fresh snapshot: a PUT that held the row may have
                -- changed the languages too).
                v_hora := NULL;
                v_elegivel := v_removido IS NULL AND status_ativo AND status_ativo_sequencial
                              AND status_online
                              AND (limite_abertos IS NULL OR protocolos_abertos < limite_abertos);
                IF v_elegivel AND (limite_diario IS NOT NULL OR horarios IS NOT NULL
                                   OR ausencias IS NOT NULL) THEN
                    v_hora := v_agora AT TIME ZONE coalesce(fuso_horario, p_fuso_padrao);
                    v_elegivel := limite_diario IS NULL
                                  OR atendimentos_dia IS DISTINCT FROM v_hora::DATE
                                  OR atendimentos_no_dia < limite_diario;
                END IF;
                IF v_elegivel AND horarios IS NOT NULL THEN
                    v_elegivel := EXISTS (
                        SELECT 1
                        FROM jsonb_array_elements(consultores_atribuir_lote.horarios::jsonb) h
                        WHERE (h->>'dia')::INTEGER = extract(isodow FROM v_hora)
                          AND v_hora::TIME >= (h->>'inicio')::TIME
                          AND v_hora::TIME < (h->>'fim')::TIME);
                END IF;
                IF v_elegivel AND ausencias IS NOT NULL THEN
                    v_elegivel := NOT EXISTS (
                        SELECT 1
                        FROM jsonb_array_elements(consultores_atribuir_lote.ausencias::jsonb) a
                        WHERE v_hora::DATE BETWEEN (a->>'de')::DATE AND (a->>'ate')::DATE);
                END IF;
                IF v_elegivel THEN
                    -- `now`, or 1 µs after the previous stamp when that is later: stamps
                    -- strictly increase in commit order whatever the callers' clocks. The
                    -- caller's `now` counts for at most the database's clock plus 1 second: one
                    -- replica whose clock runs ahead cannot push every later stamp (audit times,
                    -- retention cutoffs) into the future.
                    v_novo := GREATEST(LEAST(v_agora, clock_timestamp() + INTERVAL '1 second'),
                                       v_stamp + INTERVAL '1 microsecond');
                    v_dia := coalesce(v_hora, v_agora AT TIME ZONE
                                              coalesce(fuso_horario, p_fuso_padrao))::DATE;
                    v_no_dia := CASE WHEN atendimentos_dia = v_dia
                                     THEN atendimentos_no_dia + 1 ELSE 1 END;
                    v_chave := (extract(epoch FROM v_novo) * 1000000)::BIGINT;
                    IF chave_fila IS NOT NULL THEN
                        v_chave := chave_fila + (v_chave - chave_fila) / peso;
                    END IF;
                    -- A limit reached now takes them out at the next assignment (until then the
                    -- rules above skip them).
                    IF (limite_abertos IS NOT NULL AND protocolos_abertos + 1 >= limite_abertos)
                       OR (limite_diario IS NOT NULL AND v_no_dia >= limite_diario) THEN
                        v_marcada := '-infinity';
                    END IF;
                    -- The stamp, with the language re-checked (in the order the consultant
                    -- lists theirs, returned with the row).
                    UPDATE consultores c
                    SET ultimo_atendimento = v_novo,
                        chave_fila = v_chave,
                        atendimentos_no_dia = v_no_dia,
                        atendimentos_dia = v_dia,
                        -- The protocol opened below (the trigger protocolos_abertos_contagem
                        -- leaves the assignment's own insert to this).
                        protocolos_abertos = consultores_atribuir_lote.protocolos_abertos + 1,
                        proxima_mudanca = v_marcada
                    FROM (SELECT array_agg(ci.idioma::TEXT ORDER BY ci.posicao) AS todos
                          FROM consultor_idiomas ci WHERE ci.consultor_id = v_id) l
                    WHERE c.id = v_id AND v_idioma = ANY (l.todos)
                    RETURNING l.todos INTO v_idiomas;
                    EXIT WHEN FOUND;
                END IF;
                -- A stale entry: fixed, never served.
                PERFORM consultores_fila_sincronizar(v_agora, p_fuso_padrao, v_id);
                v_reler := TRUE;
                v_id := NULL;
            END LOOP;
            EXIT WHEN v_id IS NOT NULL;
        END LOOP;
        -- Nobody: no row, no number taken, nothing to undo (the queue entries re-evaluated
        -- above stay re-evaluated: they are what any later assignment would make them).
        CONTINUE WHEN v_id IS NULL;

        -- The row as the stamp left it.
        consultor_id := v_id;
        ultimo_atendimento := v_novo;
        chave_fila := v_chave;
        atendimentos_no_dia := v_no_dia;
        atendimentos_dia := v_dia;
        protocolos_abertos := protocolos_abertos + 1;
        idiomas := array_to_string(v_idiomas, ',');
        -- A limit reached: the next item's probe finds it due.
        v_proxima := LEAST(v_proxima, v_marcada);
        v_contador := v_contador + 1;
        v_stamp := v_novo;
        v_numero := '#' || CASE WHEN v_contador < 100000 THEN lpad(v_contador::TEXT, 5, '0')
                                ELSE v_contador::TEXT END;

        INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at,
                                updated_at)
        VALUES (v_numero, v_id, v_idioma, 'normal', 'aberto', v_stamp, v_stamp)
        RETURNING protocolos.id, protocolos.numero::TEXT, protocolos.idioma::TEXT,
                  protocolos.descricao, protocolos.prioridade::TEXT, protocolos.status::TEXT,
                  protocolos.created_at, protocolos.updated_at
        INTO protocolo_id, numero, idioma, descricao, prioridade, status, created_at, updated_at;
        -- Byte for byte the text of the jsonb object built before (keys in jsonb's order:
        -- shorter first), without building it; an expression of the function.
        v_alteracoes := '{"idioma": {"antes": null, "depois": '
            || coalesce(to_json(idioma)::TEXT, 'null')
            || '}, "protocolo_id": {"antes": null, "depois": ' || protocolo_id
            || '}, "numero_protocolo": {"antes": null, "depois": '
            || coalesce(to_json(numero)::TEXT, 'null')
            || '}, "ultimo_atendimento": {"antes": '
            || coalesce('"' || to_char(v_antes AT TIME ZONE 'UTC',
                                       'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || '"', 'null')
            || ', "depois": "'
            || to_char(v_stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
            || '"}}';
        WITH moved AS (
            UPDATE consultor_fila q SET chave_fila = v_chave
            WHERE q.consultor_id = v_id
            RETURNING q.consultor_id
        )
        INSERT INTO auditoria (em, chave_id, chave_descricao, request_id, acao, entidade,
                               entidade_id, alteracoes)
        VALUES (v_stamp, p_chave_id[i], p_chave_descricao[i], p_request_id[i], p_acao,
                p_entidade, v_id, v_alteracoes);
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

-- Every statement of the batch reads by index whatever the tables' statistics say (see the
-- header: a small table's lookups were sequential scans that grow with its dead versions), and
-- without the JIT compiler that the disabled scans' cost would start.
ALTER FUNCTION consultores_atribuir_lote(TEXT[], TIMESTAMPTZ[], TEXT, BIGINT[], TEXT[], TEXT[],
                                         TEXT, TEXT, TEXT[], TEXT[], TEXT, TEXT[])
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    SET jit = off;
