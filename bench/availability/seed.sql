-- 10,000 consultants with rules for everyone (half with a zone of their own): 6,000 speak pt
-- (3,000 of them with hours on another weekday only), 4,000 speak en; all marked to be
-- evaluated, as after the migration or a bulk change.
TRUNCATE consultor_fila, consultor_idiomas, protocolos, auditoria CASCADE;
DELETE FROM consultores;
UPDATE controle_protocolo SET ultimo_numero = 0;
INSERT INTO consultores (nome, status_online, peso, limite_diario, limite_abertos, fuso_horario,
                         horarios, ausencias)
SELECT 'Consultor ' || g, true, 1 + g % 3, 100000, 100000,
       CASE WHEN g % 2 = 0 THEN 'America/Sao_Paulo' END,
       CASE WHEN g <= 3000
            THEN '[{"dia":' || ((extract(isodow FROM now() AT TIME ZONE 'America/Sao_Paulo')::INT + 2) % 7 + 1) || ',"inicio":"08:00","fim":"18:00"}]'
            ELSE '[{"dia":1,"inicio":"00:00","fim":"24:00"},{"dia":2,"inicio":"00:00","fim":"24:00"},{"dia":3,"inicio":"00:00","fim":"24:00"},{"dia":4,"inicio":"00:00","fim":"24:00"},{"dia":5,"inicio":"00:00","fim":"24:00"},{"dia":6,"inicio":"00:00","fim":"24:00"},{"dia":7,"inicio":"00:00","fim":"24:00"}]'
       END,
       '[{"de":"2027-06-01","ate":"2027-06-10"}]'
FROM generate_series(1, 10000) g;
INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
SELECT id, CASE WHEN rn <= 6000 THEN 'pt' ELSE 'en' END, 0
FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM consultores) s;
UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL;
ANALYZE consultores; ANALYZE consultor_idiomas; ANALYZE consultor_fila;
