-- A timer chunk under load: the counter row, 200 consultants marked to be evaluated, and a
-- chunk that applies them (pgbench script, run at -R 2 beside assign.sql).
\set r random(0, 49)
BEGIN;
SELECT 1 FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE;
UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL WHERE id % 50 = :r;
SELECT consultores_fila_adiantar(now(), 'America/Sao_Paulo', 200);
COMMIT;
