-- One queue per language holding only who may be available now, as on PostgreSQL (migration
-- 2026-10-01-000000_fila_por_idioma there): the head of a language's queue is one index probe
-- whatever the other languages, the working hours, the leave and the limits hold. Before, the
-- SQLite assignment walked the global queue index, skipping in the service every consultant of
-- another language or outside their hours. SQLite has no time zones, so the evaluation runs in
-- the service (crates/persistence/src/sqlite_queue.rs) inside the assignment's immediate
-- transaction; this migration holds the data and the marks.
--
-- * consultor_fila: one row per (consultant, language) of a consultant believed available, with
--   a copy of their queue key. A stale entry (a shift ended, a limit reached) is re-checked and
--   removed by the assignment instead of being served.
-- * consultores.proxima_mudanca: for a consultant out of the queue, the next instant their
--   availability may change with the clock, in the fixed-width UTC text of the other timestamps;
--   NULL when only a write can change it (or when they are in the queue). '-infinity' means "to
--   be evaluated": it sorts before every timestamp text ('-' < '0'), so `proxima_mudanca <= now`
--   finds it as on PostgreSQL. It is the default of a new consultant, and the triggers below set
--   it on every change that may make someone available.
-- * consultores.disponibilidade_avaliada_em: when that evaluation was made (with a timestamp
--   proxima_mudanca only). A caller whose clock is behind it re-evaluates.
ALTER TABLE consultores ADD COLUMN proxima_mudanca TEXT DEFAULT '-infinity';
ALTER TABLE consultores ADD COLUMN disponibilidade_avaliada_em TEXT;

UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL;

CREATE INDEX consultores_proxima_mudanca_idx
    ON consultores (proxima_mudanca) WHERE proxima_mudanca IS NOT NULL;
CREATE INDEX consultores_disponibilidade_avaliada_em_idx
    ON consultores (disponibilidade_avaliada_em) WHERE disponibilidade_avaliada_em IS NOT NULL;

-- A language removed takes its entry with it: every connection turns foreign_keys on (the
-- assignment also re-checks the language on the head's row, so an entry left by a connection
-- without it is removed, never served).
CREATE TABLE consultor_fila (
    consultor_id INTEGER NOT NULL,
    idioma TEXT NOT NULL,
    chave_fila BIGINT,
    PRIMARY KEY (consultor_id, idioma),
    FOREIGN KEY (consultor_id, idioma) REFERENCES consultor_idiomas (consultor_id, idioma)
        ON DELETE CASCADE
);

-- The head of a language: never served first (SQLite sorts NULL first ascending), then the
-- oldest key, ties by the lower id.
CREATE INDEX consultor_fila_cabeca_idx ON consultor_fila (idioma, chave_fila, consultor_id);

-- No longer read: the head is found per language above, and without it no index of consultores
-- holds the columns an assignment moves (key, stamp, counters).
DROP INDEX IF EXISTS consultores_fila_idx;

-- Marks a consultant to be evaluated by the next assignment, on the changes PostgreSQL's
-- consultores_fila_reavaliar lists: the switches, removal, limits, zone, hours, leave, a
-- protocol closed, and the key or the daily counter moved. The assignment moves the key and the
-- counter itself and then evaluates the consultant it served in the same transaction, which
-- overwrites this mark (SQLite has no session setting to tell its own update apart).
CREATE TRIGGER consultores_fila_reavaliar AFTER UPDATE ON consultores
FOR EACH ROW
WHEN OLD.removido_em IS NOT NEW.removido_em
  OR OLD.status_ativo IS NOT NEW.status_ativo
  OR OLD.status_ativo_sequencial IS NOT NEW.status_ativo_sequencial
  OR OLD.status_online IS NOT NEW.status_online
  OR OLD.limite_diario IS NOT NEW.limite_diario
  OR OLD.limite_abertos IS NOT NEW.limite_abertos
  OR OLD.fuso_horario IS NOT NEW.fuso_horario
  OR OLD.horarios IS NOT NEW.horarios
  OR OLD.ausencias IS NOT NEW.ausencias
  OR NEW.protocolos_abertos < OLD.protocolos_abertos
  OR OLD.chave_fila IS NOT NEW.chave_fila
  OR OLD.atendimentos_dia IS NOT NEW.atendimentos_dia
  OR OLD.atendimentos_no_dia IS NOT NEW.atendimentos_no_dia
BEGIN
    UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL
    WHERE id = NEW.id;
END;

-- A language added: evaluated by the next assignment.
CREATE TRIGGER consultor_idiomas_fila AFTER INSERT ON consultor_idiomas
FOR EACH ROW
BEGIN
    UPDATE consultores SET proxima_mudanca = '-infinity', disponibilidade_avaliada_em = NULL
    WHERE id = NEW.consultor_id AND proxima_mudanca IS NOT '-infinity';
END;
