-- Routing rules (peso, limits, time zone, working hours, leave) and the counters they read.
--
-- * chave_fila: the queue key in microseconds since the epoch. With peso 1 it is exactly
--   ultimo_atendimento (v6's order); an assignment moves it from k to k + (now - k) / peso.
-- * atendimentos_dia / atendimentos_no_dia: rotation assignments on the consultant's local date,
--   counted by the assignment itself (a new local day starts again at 1).
-- * protocolos_abertos: protocols of theirs that are 'aberto' or 'em_andamento', kept by a
--   trigger on protocolos in the transaction of every insert and update.
-- * horarios / ausencias: JSON text in the wire form ([{"dia":1,"inicio":"08:00","fim":"18:00"}],
--   [{"de":"2026-12-24","ate":"2026-12-26"}]); fuso_horario NULL means the service's
--   DEFAULT_TIME_ZONE, passed to the assignment function by the caller.
ALTER TABLE consultores
    ADD COLUMN IF NOT EXISTS peso INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS limite_diario INTEGER,
    ADD COLUMN IF NOT EXISTS limite_abertos INTEGER,
    ADD COLUMN IF NOT EXISTS fuso_horario TEXT,
    ADD COLUMN IF NOT EXISTS horarios TEXT,
    ADD COLUMN IF NOT EXISTS ausencias TEXT,
    ADD COLUMN IF NOT EXISTS chave_fila BIGINT,
    ADD COLUMN IF NOT EXISTS atendimentos_dia DATE,
    ADD COLUMN IF NOT EXISTS atendimentos_no_dia INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS protocolos_abertos INTEGER NOT NULL DEFAULT 0;

UPDATE consultores
SET chave_fila = (extract(epoch FROM ultimo_atendimento) * 1000000)::BIGINT
WHERE ultimo_atendimento IS NOT NULL AND chave_fila IS NULL;

UPDATE consultores c
SET protocolos_abertos = abertos.n
FROM (SELECT consultor_id, count(*)::INTEGER AS n FROM protocolos
      WHERE consultor_id IS NOT NULL AND status IN ('aberto', 'em_andamento')
      GROUP BY consultor_id) abertos
WHERE c.id = abertos.consultor_id;

CREATE OR REPLACE FUNCTION consultores_contar_abertos() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    v_saiu BIGINT;
    v_entrou BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.consultor_id IS NOT NULL
       AND OLD.status IN ('aberto', 'em_andamento') THEN
        v_saiu := OLD.consultor_id;
    END IF;
    IF NEW.consultor_id IS NOT NULL AND NEW.status IN ('aberto', 'em_andamento') THEN
        v_entrou := NEW.consultor_id;
    END IF;
    IF v_saiu IS NOT DISTINCT FROM v_entrou THEN
        RETURN NULL;
    END IF;
    -- One statement over both rows, in id order: two reassignments in opposite directions lock
    -- the two consultants in the same order, so they cannot deadlock.
    UPDATE consultores c
    SET protocolos_abertos = c.protocolos_abertos
        + CASE WHEN c.id = v_entrou THEN 1 ELSE 0 END
        - CASE WHEN c.id = v_saiu THEN 1 ELSE 0 END
    FROM (SELECT id FROM consultores WHERE id IN (v_saiu, v_entrou) ORDER BY id FOR UPDATE) alvo
    WHERE c.id = alvo.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS protocolos_abertos_contagem ON protocolos;
CREATE TRIGGER protocolos_abertos_contagem
    AFTER INSERT OR UPDATE OF status, consultor_id ON protocolos
    FOR EACH ROW EXECUTE FUNCTION consultores_contar_abertos();

-- The queue in key order (replaces the index on ultimo_atendimento).
DROP INDEX IF EXISTS consultores_rotation_idx;
CREATE INDEX IF NOT EXISTS consultores_fila_idx
    ON consultores (chave_fila ASC NULLS FIRST, id)
    WHERE removido_em IS NULL AND status_ativo AND status_ativo_sequencial AND status_online;

-- The assignment, now over a list of languages (the requested one, then the alternatives) and
-- with the rules. Locking design as in migration 2026-05-01-000000_atribuir: the counter row
-- first, then (a new statement, a fresh snapshot) the head with FOR UPDATE. The rules read
-- only columns of the consultant's own row, so a concurrent change of them (a limit reached
-- through another path, a switch) is re-checked by PostgreSQL on the locked row version.
-- The rules are evaluated at the caller's p_agora, in the consultant's zone (or p_fuso_padrao).
DROP FUNCTION IF EXISTS consultores_atribuir(TEXT, TIMESTAMPTZ, BIGINT, TEXT, TEXT, TEXT, TEXT,
                                             TEXT, TEXT, TEXT);

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
    p_nota TEXT
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
    -- increase in commit order whatever the callers' clocks.
    UPDATE controle_protocolo
    SET ultimo_numero = ultimo_numero + 1,
        updated_at = GREATEST(p_agora, updated_at + INTERVAL '1 microsecond')
    WHERE id = 1
    RETURNING ultimo_numero, updated_at INTO v_contador, v_stamp;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    v_numero := '#' || CASE WHEN v_contador < 100000 THEN lpad(v_contador::TEXT, 5, '0')
                            ELSE v_contador::TEXT END;

    -- The head: the first language, in the order given, with anyone eligible.
    FOREACH v_idioma IN ARRAY p_idiomas LOOP
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
                                    TEXT, TEXT, TEXT)
    SET plan_cache_mode = force_generic_plan;
