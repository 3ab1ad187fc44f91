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

-- The assignment that applies these rules is consultores_atribuir in
-- 2026-07-01-000003_atribuir (it also serves the waiting queue and queues outbound webhooks).
