-- One queue per language, holding only who may be available now, so the head of a language's
-- queue is one index probe whatever the other languages, the working hours, the leave and the
-- limits hold (before: the head query walked the global queue, skipping every consultant of
-- another language or outside their hours, under the counter lock). Design and measurements:
-- bench/RESULTS.md § Routing rules.
--
-- * consultor_fila: one row per (consultant, language) of a consultant believed available, with a
--   copy of their queue key. Narrow, so rewriting a consultant's rows on each assignment is cheap.
--   A row may be stale the other way (the shift ended, a limit was reached through another path):
--   the assignment re-checks the rules on the one head row it picks, and removes a stale entry
--   instead of serving it. A consultant who may be available is never missing (see below).
-- * consultores.proxima_mudanca: for a consultant out of the queue, the next instant their
--   availability may change with the clock (a shift start, local midnight: leave and the daily
--   limit), NULL when only a write can change it (switches, open limit). '-infinity' means "to be
--   evaluated": set by the triggers below on every change that may make someone available (a
--   switch, a rule, a language added, a protocol closed, a key moved outside the assignment), and
--   the default of a new consultant. The assignment applies every due transition first
--   (`proxima_mudanca <= now`: a probe of a partial index, usually empty), so correctness never
--   depends on a timer.
-- * consultores.disponibilidade_avaliada_em: when that evaluation was made (with a finite
--   proxima_mudanca only). A caller whose clock is behind it (another replica's skew, a test's
--   clock) re-evaluates: the evaluation holds only from that instant on.
ALTER TABLE consultores
    ADD COLUMN IF NOT EXISTS proxima_mudanca TIMESTAMPTZ DEFAULT '-infinity',
    ADD COLUMN IF NOT EXISTS disponibilidade_avaliada_em TIMESTAMPTZ;

UPDATE consultores SET proxima_mudanca = '-infinity' WHERE proxima_mudanca IS NULL;

CREATE INDEX IF NOT EXISTS consultores_proxima_mudanca_idx
    ON consultores (proxima_mudanca) WHERE proxima_mudanca IS NOT NULL;
CREATE INDEX IF NOT EXISTS consultores_disponibilidade_avaliada_em_idx
    ON consultores (disponibilidade_avaliada_em) WHERE disponibilidade_avaliada_em IS NOT NULL;

-- A language removed takes its queue entry with it (the cascade); one added marks the consultant
-- to be evaluated (trigger below).
CREATE TABLE IF NOT EXISTS consultor_fila (
    consultor_id BIGINT NOT NULL,
    idioma VARCHAR(5) NOT NULL,
    chave_fila BIGINT,
    PRIMARY KEY (consultor_id, idioma),
    FOREIGN KEY (consultor_id, idioma) REFERENCES consultor_idiomas (consultor_id, idioma)
        ON DELETE CASCADE
);

-- The head of a language: never served first, then the oldest key, ties by the lower id.
CREATE INDEX IF NOT EXISTS consultor_fila_cabeca_idx
    ON consultor_fila (idioma, chave_fila ASC NULLS FIRST, consultor_id);

-- The global queue index is no longer read on PostgreSQL (the head is found per language above;
-- SQLite keeps its own). Without it no index of consultores holds the columns an assignment
-- moves (key, stamp, counters), so the stamp and the open-protocol count are HOT updates.
DROP INDEX IF EXISTS consultores_fila_idx;

-- The routing rules and switches of one consultant at p_agora (their zone, or p_fuso_padrao):
-- the same terms the head query applied before this migration, and the domain's
-- RoutingRules::blocking_rule. The language is not part of it.
CREATE OR REPLACE FUNCTION consultores_elegivel(c consultores, p_agora TIMESTAMPTZ,
                                                p_fuso_padrao TEXT)
RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
       AND c.status_online
       AND (c.horarios IS NULL OR EXISTS (
             SELECT 1 FROM jsonb_array_elements(c.horarios::jsonb) h
             WHERE (h->>'dia')::INTEGER
                   = extract(isodow FROM p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))
               AND (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::TIME
                   >= (h->>'inicio')::TIME
               AND (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::TIME
                   < (h->>'fim')::TIME))
       AND (c.ausencias IS NULL OR NOT EXISTS (
             SELECT 1 FROM jsonb_array_elements(c.ausencias::jsonb) a
             WHERE (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
                   BETWEEN (a->>'de')::DATE AND (a->>'ate')::DATE))
       AND (c.limite_diario IS NULL
            OR c.atendimentos_dia IS DISTINCT FROM
               (p_agora AT TIME ZONE coalesce(c.fuso_horario, p_fuso_padrao))::DATE
            OR c.atendimentos_no_dia < c.limite_diario)
       AND (c.limite_abertos IS NULL OR c.protocolos_abertos < c.limite_abertos)
$$;

-- For a consultant NOT eligible at p_agora: the next instant their eligibility may change by the
-- clock alone, or NULL when only a write can change it (a switch off, removed, at the open
-- limit: the triggers mark them). Eligibility changes by the clock only at local midnight (leave
-- is by local date, the daily counter restarts) and at the start of a working period, so the
-- earliest of the next local midnight and the next start today is early enough (waking early
-- only costs one more evaluation). A local time that a DST change makes ambiguous is taken at
-- its earlier instant.
CREATE OR REPLACE FUNCTION consultores_proxima_mudanca(c consultores, p_agora TIMESTAMPTZ,
                                                       p_fuso_padrao TEXT)
RETURNS TIMESTAMPTZ LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_fuso TEXT := coalesce(c.fuso_horario, p_fuso_padrao);
    v_hora TIMESTAMP := p_agora AT TIME ZONE v_fuso;
    v_local TIMESTAMP;
    v_instante TIMESTAMPTZ;
    v_cedo TIMESTAMPTZ;
BEGIN
    IF NOT (c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial
            AND c.status_online)
       OR (c.limite_abertos IS NOT NULL AND c.protocolos_abertos >= c.limite_abertos) THEN
        RETURN NULL;
    END IF;
    SELECT min(s.inicio) INTO v_local
    FROM (SELECT v_hora::DATE + (h->>'inicio')::TIME AS inicio
          FROM jsonb_array_elements(coalesce(c.horarios, '[]')::jsonb) h
          WHERE (h->>'dia')::INTEGER = extract(isodow FROM v_hora)) s
    WHERE s.inicio > v_hora;
    v_local := least(v_local, (v_hora::DATE + 1)::TIMESTAMP);
    v_instante := v_local AT TIME ZONE v_fuso;
    FOREACH v_cedo IN ARRAY ARRAY[v_instante - INTERVAL '1 hour',
                                  v_instante - INTERVAL '30 minutes'] LOOP
        IF (v_cedo AT TIME ZONE v_fuso) >= v_local THEN
            RETURN v_cedo;
        END IF;
    END LOOP;
    RETURN v_instante;
END
$$;

-- Applies the due transitions at p_agora (p_id NULL), or re-evaluates one consultant (p_id):
-- each consultant evaluated gets their queue entries (one per language, with their key) when
-- eligible, none otherwise, and their next change. Rows locked in id order.
CREATE OR REPLACE FUNCTION consultores_fila_sincronizar(p_agora TIMESTAMPTZ, p_fuso_padrao TEXT,
                                                        p_id BIGINT)
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ids BIGINT[];
    v_n BIGINT;
BEGIN
    IF p_id IS NULL THEN
        SELECT array_agg(d.id ORDER BY d.id) INTO v_ids
        FROM (SELECT id FROM consultores WHERE proxima_mudanca <= p_agora
              UNION
              SELECT id FROM consultores WHERE disponibilidade_avaliada_em > p_agora) d;
        IF v_ids IS NULL THEN
            RETURN;
        END IF;
    ELSE
        v_ids := ARRAY[p_id];
    END IF;
    -- Locked first, in id order (a statement of its own: the next one's snapshot sees the
    -- versions locked).
    PERFORM 1 FROM consultores c WHERE c.id = ANY (v_ids) ORDER BY c.id FOR UPDATE;
    WITH avaliado AS (
        SELECT c.id, c.chave_fila, consultores_elegivel(c, p_agora, p_fuso_padrao) AS elegivel,
               c AS linha
        FROM consultores c WHERE c.id = ANY (v_ids)
    ), marcado AS (
        UPDATE consultores c
        SET proxima_mudanca = m.proxima,
            disponibilidade_avaliada_em = CASE WHEN isfinite(m.proxima) THEN p_agora END
        FROM (SELECT a.id, CASE WHEN a.elegivel THEN NULL
                                ELSE consultores_proxima_mudanca(a.linha, p_agora, p_fuso_padrao)
                           END AS proxima
              FROM avaliado a) m
        WHERE c.id = m.id
        RETURNING c.id
    ), saiu AS (
        DELETE FROM consultor_fila f USING avaliado a
        WHERE f.consultor_id = a.id AND NOT a.elegivel
        RETURNING f.consultor_id
    ), entrou AS (
        INSERT INTO consultor_fila (consultor_id, idioma, chave_fila)
        SELECT a.id, ci.idioma, a.chave_fila
        FROM avaliado a JOIN consultor_idiomas ci ON ci.consultor_id = a.id
        WHERE a.elegivel
        ON CONFLICT (consultor_id, idioma) DO UPDATE SET chave_fila = EXCLUDED.chave_fila
            WHERE consultor_fila.chave_fila IS DISTINCT FROM EXCLUDED.chave_fila
        RETURNING consultor_fila.consultor_id
    )
    -- Data-modifying CTEs run to completion whether read or not.
    SELECT count(*) INTO v_n FROM marcado;
END
$$;

-- Its probes compare with p_agora: planned for the value at hand (the due rows are few).
ALTER FUNCTION consultores_fila_sincronizar(TIMESTAMPTZ, TEXT, BIGINT)
    SET plan_cache_mode = force_custom_plan;

-- Marks a consultant to be evaluated by the next assignment. A BEFORE trigger, so it costs no
-- second write; its WHEN is evaluated without calling the function, so an update that changes
-- none of these columns (the assignment's own stamp: it sets consultores.atribuindo and keeps
-- the entries in step itself; a protocol opened) pays only the comparisons.
CREATE OR REPLACE FUNCTION consultores_fila_marcar() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.proxima_mudanca := '-infinity';
    NEW.disponibilidade_avaliada_em := NULL;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS consultores_fila_reavaliar ON consultores;
CREATE TRIGGER consultores_fila_reavaliar
    BEFORE UPDATE ON consultores
    FOR EACH ROW
    WHEN (OLD.removido_em IS DISTINCT FROM NEW.removido_em
          OR OLD.status_ativo IS DISTINCT FROM NEW.status_ativo
          OR OLD.status_ativo_sequencial IS DISTINCT FROM NEW.status_ativo_sequencial
          OR OLD.status_online IS DISTINCT FROM NEW.status_online
          OR OLD.limite_diario IS DISTINCT FROM NEW.limite_diario
          OR OLD.limite_abertos IS DISTINCT FROM NEW.limite_abertos
          OR OLD.fuso_horario IS DISTINCT FROM NEW.fuso_horario
          OR OLD.horarios IS DISTINCT FROM NEW.horarios
          OR OLD.ausencias IS DISTINCT FROM NEW.ausencias
          OR NEW.protocolos_abertos < OLD.protocolos_abertos
          OR ((OLD.chave_fila IS DISTINCT FROM NEW.chave_fila
               OR OLD.atendimentos_dia IS DISTINCT FROM NEW.atendimentos_dia
               OR OLD.atendimentos_no_dia IS DISTINCT FROM NEW.atendimentos_no_dia)
              AND current_setting('consultores.atribuindo', TRUE) IS DISTINCT FROM 'sim'))
    EXECUTE FUNCTION consultores_fila_marcar();

CREATE OR REPLACE FUNCTION consultor_idiomas_fila_marcar() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL
    WHERE id = NEW.consultor_id AND proxima_mudanca IS DISTINCT FROM '-infinity';
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS consultor_idiomas_fila ON consultor_idiomas;
CREATE TRIGGER consultor_idiomas_fila
    AFTER INSERT ON consultor_idiomas
    FOR EACH ROW EXECUTE FUNCTION consultor_idiomas_fila_marcar();

-- The assignment, with the same signature and contract as in 2026-07-01-000003_atribuir; only
-- the head lookup changed: apply the due transitions, then per language the first entry of its
-- queue, locked on the consultant's row, its rules re-checked in a new statement (a fresh
-- snapshot: a PUT that held the row may have changed it or its languages). A stale entry is
-- re-evaluated (removed) and the next one tried. The stamp moves the key of the consultant's
-- entries in the same statement, and a limit reached marks them to be evaluated.
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
