-- timer.sql without the chunk: the 200 marked consultants are left to the assignments.
\set r random(0, 49)
BEGIN;
SELECT 1 FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE;
UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL WHERE id % 50 = :r;
COMMIT;
