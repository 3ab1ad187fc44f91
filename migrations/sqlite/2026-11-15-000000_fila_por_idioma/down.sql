DROP TRIGGER IF EXISTS consultor_idiomas_fila;
DROP TRIGGER IF EXISTS consultores_fila_reavaliar;
DROP TABLE IF EXISTS consultor_fila;
DROP INDEX IF EXISTS consultores_disponibilidade_avaliada_em_idx;
DROP INDEX IF EXISTS consultores_proxima_mudanca_idx;
ALTER TABLE consultores DROP COLUMN disponibilidade_avaliada_em;
ALTER TABLE consultores DROP COLUMN proxima_mudanca;
CREATE INDEX consultores_fila_idx
    ON consultores (chave_fila, id)
    WHERE removido_em IS NULL AND status_ativo AND status_ativo_sequencial AND status_online;
