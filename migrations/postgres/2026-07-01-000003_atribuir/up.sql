-- The rotation's atomic step with everything the second wave added: the routing rules
-- (2026-06-01-000000_regras_de_rodizio), the waiting queue (2026-07-01-000000_fila) and the
-- outbound webhooks (2026-07-01-000002_webhooks). Locking design: crates/persistence/src/assignment.rs.
--
-- The assignment, now over a list of languages (the requested one, then the alternatives) and
-- with the rules. Locking design as in migration 2026-05-01-000000_atribuir: the counter row
-- first, then (a new statement, a fresh snapshot) the head with FOR UPDATE. The rules read
-- only columns of the consultant's own row, so a concurrent change of them (a limit reached
-- through another path, a switch) is re-checked by PostgreSQL on the locked row version.
-- The rules are evaluated at the caller's p_agora, in the consultant's zone (or p_fuso_padrao).
--
-- p_origem says where the assignment comes from ('da-vez' | 'fila' | 'pipedrive'): while
-- contacts wait in a language, only the queue's dispatcher ('fila') assigns in it, so nobody
-- else jumps them. The `atribuicao` outbound webhook deliveries are queued in the same statement
-- as the protocol, so they commit or roll back with it.

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

    -- The head: the first language, in the order given, with anyone eligible.
    LOOP
        v_id := NULL;
        FOREACH v_idioma IN ARRAY p_idiomas LOOP
            -- Contacts waiting in this language (as their idioma or one of their alternativas),
            -- not yet expired, go first: only the dispatcher serves them.
            CONTINUE WHEN p_origem IS DISTINCT FROM 'fila' AND EXISTS (
                SELECT 1 FROM fila f
                WHERE f.estado = 'aguardando' AND f.expira_em > p_agora
                  AND (f.idioma = v_idioma
                       OR position(',' || v_idioma || ',' IN ',' || f.alternativas || ',') > 0));
            SELECT c.id, c.ultimo_atendimento INTO v_id, v_antes
            FROM consultores c
            CROSS JOIN LATERAL (
                SELECT p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao) AS hora
            ) l
            WHERE c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
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
              AND (c.limite_abertos IS NULL OR c.protocolos_abertos < c.limite_abertos)
            ORDER BY c.chave_fila ASC NULLS FIRST, c.id ASC
            LIMIT 1
            FOR UPDATE OF c;
            EXIT WHEN FOUND;
        END LOOP;
        IF v_id IS NULL THEN
            RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
        END IF;
        -- Re-checked after the row lock was granted, in a new statement (a fresh snapshot): a PUT
        -- that held the row may have changed only the languages (rows of consultor_idiomas, so
        -- PostgreSQL did not re-evaluate the locked row against them). The consultant's own columns
        -- (switches, rules, counters) were re-evaluated on the row version locked. When the
        -- language is gone, pick again: the next pick sees the change and moves on.
        PERFORM 1 FROM consultor_idiomas ci WHERE ci.consultor_id = v_id AND ci.idioma = v_idioma;
        EXIT WHEN FOUND;
    END LOOP;

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
            atendimentos_dia = (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
        WHERE c.id = v_id
        RETURNING c.*
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
END
$$;

-- The head query's best plan does not depend on its parameters (walk the queue index in key
-- order); a generic plan saves planning it again on every call, which happens under the
-- counter lock.
ALTER FUNCTION consultores_atribuir(TEXT[], TIMESTAMPTZ, TEXT, BIGINT, TEXT, TEXT, TEXT, TEXT,
                                    TEXT, TEXT, TEXT, TEXT)
    SET plan_cache_mode = force_generic_plan;

-- The previous release's signature (one language, no zone, no origin) stays, as a call of the
-- new one, so that its replicas keep assigning correctly during a rolling update (the rule in
-- README § Deploy: expand now, contract later). They know no DEFAULT_TIME_ZONE: its default.
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
    p_nota TEXT
) RETURNS TABLE (
    consultor_id BIGINT, nome TEXT, email TEXT, telefone TEXT, status_ativo BOOLEAN,
    status_ativo_sequencial BOOLEAN, status_online BOOLEAN, ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT, idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE sql VOLATILE AS $$
    SELECT a.consultor_id, a.nome, a.email, a.telefone, a.status_ativo,
           a.status_ativo_sequencial, a.status_online, a.ultimo_atendimento, a.id_pipedrive,
           a.idiomas, a.protocolo_id, a.numero, a.idioma, a.descricao, a.prioridade, a.status,
           a.created_at, a.updated_at, a.crm_itens
    FROM consultores_atribuir(ARRAY[p_idioma], p_agora, 'America/Sao_Paulo', p_chave_id,
                              p_chave_descricao, p_request_id, p_acao, p_entidade, p_crm_tipo,
                              p_crm_alvo, p_nota, 'da-vez') a
$$;
