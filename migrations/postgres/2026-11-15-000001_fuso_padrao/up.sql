-- Availability evaluated off the request path, and a change of DEFAULT_TIME_ZONE noticed
-- (bench/RESULTS.md § Routing rules).
--
-- * controle_protocolo.fuso_padrao: the default zone (DEFAULT_TIME_ZONE) the service last
--   evaluated availability with; NULL until a service records it. At start-up a service whose
--   configured zone differs records its own and marks every consultant without a zone of their
--   own to be evaluated, under the counter row's lock (crates/persistence/src/availability_upkeep.rs).
-- * consultores_fila_avaliar: the evaluation of 2026-10-01-000000_fila_por_idioma's
--   consultores_fila_sincronizar for a list of consultants; sincronizar now calls it.
-- * consultores_fila_adiantar: applies at most p_limite due transitions, taking the locks in the
--   assignment's order, so a timer can do ahead of time what the next assignment would do
--   under the counter lock.

ALTER TABLE controle_protocolo ADD COLUMN IF NOT EXISTS fuso_padrao TEXT;

-- Evaluates the consultants p_ids at p_agora: each gets their queue entries (one per language,
-- with their key) when eligible, none otherwise, and their next change. Rows locked in id order.
CREATE OR REPLACE FUNCTION consultores_fila_avaliar(p_agora TIMESTAMPTZ, p_fuso_padrao TEXT,
                                                    p_ids BIGINT[])
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_n BIGINT;
BEGIN
    -- Locked first, in id order (a statement of its own: the next one's snapshot sees the
    -- versions locked).
    PERFORM 1 FROM consultores c WHERE c.id = ANY (p_ids) ORDER BY c.id FOR UPDATE;
    WITH avaliado AS (
        SELECT c.id, c.chave_fila, consultores_elegivel(c, p_agora, p_fuso_padrao) AS elegivel,
               c AS linha
        FROM consultores c WHERE c.id = ANY (p_ids)
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

-- Same contract as in 2026-10-01-000000_fila_por_idioma: every due transition at p_agora
-- (p_id NULL), or one consultant (p_id).
CREATE OR REPLACE FUNCTION consultores_fila_sincronizar(p_agora TIMESTAMPTZ, p_fuso_padrao TEXT,
                                                        p_id BIGINT)
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ids BIGINT[];
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
    PERFORM consultores_fila_avaliar(p_agora, p_fuso_padrao, v_ids);
END
$$;

-- Its probes compare with p_agora: planned for the value at hand (CREATE OR REPLACE resets
-- the setting 2026-10-01-000000_fila_por_idioma gave it).
ALTER FUNCTION consultores_fila_sincronizar(TIMESTAMPTZ, TEXT, BIGINT)
    SET plan_cache_mode = force_custom_plan;

-- At most p_limite of the transitions due at p_agora (the ones consultores_fila_sincronizar
-- would apply), the most overdue first; returns how many consultants it evaluated (fewer than
-- p_limite: nothing else was due). The counter row is locked first, then the consultants in id
-- order: the assignment's order (consultores_atribuir, consultores_atribuir_lote), so a chunk
-- and an assignment queue on the counter instead of deadlocking, and two chunks (replicas'
-- timers) take turns.
CREATE OR REPLACE FUNCTION consultores_fila_adiantar(p_agora TIMESTAMPTZ, p_fuso_padrao TEXT,
                                                     p_limite INTEGER)
RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ids BIGINT[];
BEGIN
    -- Nothing due (the usual case): no lock taken. The assignment's probe: one index entry each.
    IF NOT ((SELECT min(c.proxima_mudanca) FROM consultores c) <= p_agora
            OR (SELECT max(c.disponibilidade_avaliada_em) FROM consultores c) > p_agora) THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    -- Read after the lock: what the previous holder evaluated is not due any more.
    SELECT array_agg(d.id ORDER BY d.id) INTO v_ids
    FROM (SELECT u.id
          FROM ((SELECT c.id FROM consultores c WHERE c.proxima_mudanca <= p_agora
                 ORDER BY c.proxima_mudanca LIMIT p_limite)
                UNION
                (SELECT c.id FROM consultores c WHERE c.disponibilidade_avaliada_em > p_agora
                 ORDER BY c.disponibilidade_avaliada_em DESC LIMIT p_limite)) u
          ORDER BY u.id
          LIMIT p_limite) d;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM consultores_fila_avaliar(p_agora, p_fuso_padrao, v_ids);
    RETURN cardinality(v_ids);
END
$$;

-- Its probes compare with p_agora: planned for the value at hand.
ALTER FUNCTION consultores_fila_adiantar(TIMESTAMPTZ, TEXT, INTEGER)
    SET plan_cache_mode = force_custom_plan;
