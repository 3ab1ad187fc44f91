-- Back to 2026-10-01-000000_fila_por_idioma's consultores_fila_sincronizar (the evaluation
-- written inside it), without the chunked pre-evaluation and the recorded default zone.

DROP FUNCTION IF EXISTS consultores_fila_adiantar(TIMESTAMPTZ, TEXT, INTEGER);

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
    SELECT count(*) INTO v_n FROM marcado;
END
$$;

ALTER FUNCTION consultores_fila_sincronizar(TIMESTAMPTZ, TEXT, BIGINT)
    SET plan_cache_mode = force_custom_plan;

DROP FUNCTION IF EXISTS consultores_fila_avaliar(TIMESTAMPTZ, TEXT, BIGINT[]);

ALTER TABLE controle_protocolo DROP COLUMN IF EXISTS fuso_padrao;
