-- Routing rules and their counters; see the PostgreSQL migration of the same name. On SQLite the
-- assignment evaluates the rules in the service (SQLite has no time zones) inside its
-- immediate transaction.
ALTER TABLE consultores ADD COLUMN peso INTEGER NOT NULL DEFAULT 1;
ALTER TABLE consultores ADD COLUMN limite_diario INTEGER;
ALTER TABLE consultores ADD COLUMN limite_abertos INTEGER;
ALTER TABLE consultores ADD COLUMN fuso_horario TEXT;
ALTER TABLE consultores ADD COLUMN horarios TEXT;
ALTER TABLE consultores ADD COLUMN ausencias TEXT;
ALTER TABLE consultores ADD COLUMN chave_fila BIGINT;
ALTER TABLE consultores ADD COLUMN atendimentos_dia TEXT;
ALTER TABLE consultores ADD COLUMN atendimentos_no_dia INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consultores ADD COLUMN protocolos_abertos INTEGER NOT NULL DEFAULT 0;

-- ultimo_atendimento is fixed-width UTC text ('2026-11-29T14:30:00.123456+00:00').
UPDATE consultores
SET chave_fila = CAST(strftime('%s', substr(ultimo_atendimento, 1, 19)) AS INTEGER) * 1000000
                 + CAST(substr(ultimo_atendimento, 21, 6) AS INTEGER)
WHERE ultimo_atendimento IS NOT NULL;

UPDATE consultores
SET protocolos_abertos = (SELECT count(*) FROM protocolos p
                          WHERE p.consultor_id = consultores.id
                            AND p.status IN ('aberto', 'em_andamento'));

CREATE TRIGGER protocolos_abertos_novo AFTER INSERT ON protocolos
WHEN NEW.consultor_id IS NOT NULL AND NEW.status IN ('aberto', 'em_andamento')
BEGIN
    UPDATE consultores SET protocolos_abertos = protocolos_abertos + 1
    WHERE id = NEW.consultor_id;
END;

CREATE TRIGGER protocolos_abertos_saida AFTER UPDATE OF status, consultor_id ON protocolos
WHEN OLD.consultor_id IS NOT NULL AND OLD.status IN ('aberto', 'em_andamento')
BEGIN
    UPDATE consultores SET protocolos_abertos = protocolos_abertos - 1
    WHERE id = OLD.consultor_id;
END;

CREATE TRIGGER protocolos_abertos_entrada AFTER UPDATE OF status, consultor_id ON protocolos
WHEN NEW.consultor_id IS NOT NULL AND NEW.status IN ('aberto', 'em_andamento')
BEGIN
    UPDATE consultores SET protocolos_abertos = protocolos_abertos + 1
    WHERE id = NEW.consultor_id;
END;

DROP INDEX IF EXISTS consultores_rotation_idx;
CREATE INDEX consultores_fila_idx
    ON consultores (chave_fila, id)
    WHERE removido_em IS NULL AND status_ativo AND status_ativo_sequencial AND status_online;
