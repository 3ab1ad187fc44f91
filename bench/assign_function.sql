-- The physical limit the service is compared with: one durable, gapless, fair assignment done
-- entirely inside PostgreSQL in one round trip, on the service's own schema and with the same
-- locking design (the counter row first, then the head of the queue in a fresh snapshot).
-- bench/run.py installs it in the benchmark database and drives it with pgbench.
CREATE OR REPLACE FUNCTION bench_assign(p_idioma TEXT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
    chosen BIGINT;
    stamp TIMESTAMPTZ := clock_timestamp();
BEGIN
    UPDATE controle_protocolo SET ultimo_numero = ultimo_numero + 1, updated_at = stamp
    WHERE id = 1 RETURNING ultimo_numero INTO n;

    SELECT c.id INTO chosen
    FROM consultores c
    JOIN consultor_idiomas ci ON ci.consultor_id = c.id AND ci.idioma = p_idioma
    WHERE c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial AND c.status_online
    ORDER BY c.ultimo_atendimento ASC NULLS FIRST, c.id ASC
    LIMIT 1
    FOR UPDATE OF c;
    IF chosen IS NULL THEN
        RAISE EXCEPTION 'nobody available for %', p_idioma;
    END IF;

    UPDATE consultores SET ultimo_atendimento = stamp WHERE id = chosen;
    INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at, updated_at)
    VALUES ('#' || CASE WHEN n < 100000 THEN lpad(n::TEXT, 5, '0') ELSE n::TEXT END,
            chosen, p_idioma, 'normal', 'aberto', stamp, stamp);
    RETURN '#' || n;
END
$$;
