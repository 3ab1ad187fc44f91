-- Idempotency keys claimed without writing them (issue 15). Until now a claim inserted the
-- key's row with an empty answer (a concurrent twin waited on that uncommitted row), and the
-- answer was written into it before COMMIT: two versions of every key row, two rounds of index
-- work and WAL, and a statement of its own before the batch, for one answer. Now a claim takes
-- a transaction-scoped advisory lock per key (released by COMMIT or ROLLBACK, so it works
-- behind PgBouncer in transaction mode) and reads the key's live record; the claimer inserts
-- the row once, with its answer, before COMMIT. A request that ends without an answer (nobody
-- available, a rollback) leaves nothing to remove.
--
-- * Lock order: by the lock's id, whatever order the keys come in, so two transactions
--   claiming overlapping keys never wait on each other in a cycle (two keys whose ids collide
--   share one lock: a needless wait, never a deadlock). Keys are locked before the counter
--   row, as before. Every writer of a key row claims it here first; the purge of expired
--   records needs no lock.
-- * The records are read by a statement of their own, after the locks: in READ COMMITTED each
--   statement of a function takes a new snapshot, so a twin that held the lock and committed
--   is seen with its answer.
-- * A record whose time is up (expires_at <= the claim's time) is deleted by the claim, so the
--   answer is a plain INSERT (no ON CONFLICT: its speculative insertion cost more than this
--   delete, which finds nothing almost always).
-- * During a rolling upgrade a replica of the previous version still claims by inserting the
--   row, without these locks. A key sent to an old and a new replica at the same instant can
--   make the new one's INSERT fail on the primary key: its transaction rolls back and its
--   callers get an error to retry. Nothing is assigned twice, and the stored rows have the same
--   form before and after (down.sql only drops these functions).

-- The advisory locks of keys (NULL entries skipped), in the order of their ids.
CREATE OR REPLACE FUNCTION consultores_travar_chaves(p_escopos TEXT[], p_chaves TEXT[])
RETURNS VOID
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(v.trava)
    FROM (SELECT DISTINCT hashtextextended(t.e || E'\n' || t.c, 0) AS trava
          FROM unnest(p_escopos, p_chaves) AS t (e, c)
          WHERE t.c IS NOT NULL
          ORDER BY 1) AS v;
END
$$;

-- The live records of keys (NULL entries skipped), each key with its request's time: locks
-- the keys, deletes the records whose time is up and returns the others. Each key is looked
-- up by a LATERAL subquery with a LIMIT, which the planner cannot turn into a join: always a
-- probe of the primary key per key, whatever the table's statistics said when the plan was
-- cached (a join planned on an empty table scanned the whole index on every call once the
-- table had grown).
CREATE OR REPLACE FUNCTION consultores_reservar_chaves(
    p_escopos TEXT[],
    p_chaves TEXT[],
    p_agora TIMESTAMPTZ[]
)
RETURNS TABLE (escopo TEXT, chave TEXT, fingerprint TEXT, resposta TEXT)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM consultores_travar_chaves(p_escopos, p_chaves);
    DELETE FROM idempotency_keys
    WHERE ctid = ANY (ARRAY(
        SELECT k.ctid
        FROM unnest(p_escopos, p_chaves, p_agora) AS t (e, c, a)
        CROSS JOIN LATERAL (SELECT k.ctid FROM idempotency_keys k
                            WHERE k.scope = t.e AND k.chave = t.c AND k.expires_at <= t.a
                            LIMIT 1) AS k));
    RETURN QUERY
        SELECT t.e, t.c, k.fingerprint, k.resposta
        FROM unnest(p_escopos, p_chaves) AS t (e, c)
        CROSS JOIN LATERAL (SELECT k.fingerprint, k.resposta FROM idempotency_keys k
                            WHERE k.scope = t.e AND k.chave = t.c LIMIT 1) AS k;
END
$$;

-- A batch whose requests carry distinct keys (NULL for a request without one), claimed in the
-- same statement as the batch: the keys locked and read as consultores_reservar_chaves does,
-- then consultores_atribuir_lote run for the requests whose key has no live record. A request
-- whose key has one gets no row (the caller reads the record, under the locks this took, and
-- replays it); so does a request nobody was free for, as before. Same rows, item numbers of
-- the batch given.
CREATE OR REPLACE FUNCTION consultores_atribuir_lote_com_chaves(
    p_escopos TEXT[],
    p_chaves TEXT[],
    p_idiomas TEXT[],
    p_agora TIMESTAMPTZ[],
    p_fuso_padrao TEXT,
    p_chave_id BIGINT[],
    p_chave_descricao TEXT[],
    p_request_id TEXT[],
    p_acao TEXT,
    p_entidade TEXT,
    p_crm_tipo TEXT[],
    p_crm_alvo TEXT[],
    p_nota TEXT,
    p_origem TEXT[]
) RETURNS TABLE (
    item INTEGER,
    consultor_id BIGINT, nome TEXT, email TEXT, telefone TEXT, status_ativo BOOLEAN,
    status_ativo_sequencial BOOLEAN, status_online BOOLEAN, ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT, peso INTEGER, limite_diario INTEGER, limite_abertos INTEGER,
    fuso_horario TEXT, horarios TEXT, ausencias TEXT, chave_fila BIGINT, atendimentos_dia DATE,
    atendimentos_no_dia INTEGER, protocolos_abertos INTEGER,
    idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_respondidos INTEGER[];
    v_vencidas BOOLEAN;
    v_itens INTEGER[];
BEGIN
    PERFORM consultores_travar_chaves(p_escopos, p_chaves);
    SELECT array_agg(t.n) FILTER (WHERE k.expires_at > t.a), bool_or(k.expires_at <= t.a)
    INTO v_respondidos, v_vencidas
    FROM unnest(p_escopos, p_chaves, p_agora) WITH ORDINALITY AS t (e, c, a, n)
    CROSS JOIN LATERAL (SELECT k.expires_at FROM idempotency_keys k
                        WHERE k.scope = t.e AND k.chave = t.c LIMIT 1) AS k;
    IF v_vencidas THEN
        PERFORM consultores_reservar_chaves(p_escopos, p_chaves, p_agora);
    END IF;
    IF v_respondidos IS NULL THEN
        RETURN QUERY SELECT * FROM consultores_atribuir_lote(
            p_idiomas, p_agora, p_fuso_padrao, p_chave_id, p_chave_descricao, p_request_id,
            p_acao, p_entidade, p_crm_tipo, p_crm_alvo, p_nota, p_origem);
        RETURN;
    END IF;
    v_itens := ARRAY(SELECT n FROM generate_series(1, cardinality(p_idiomas)) AS n
                     WHERE n <> ALL (v_respondidos) ORDER BY n);
    IF cardinality(v_itens) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT v_itens[r.item],
        r.consultor_id, r.nome, r.email, r.telefone, r.status_ativo, r.status_ativo_sequencial,
        r.status_online, r.ultimo_atendimento, r.id_pipedrive, r.peso, r.limite_diario,
        r.limite_abertos, r.fuso_horario, r.horarios, r.ausencias, r.chave_fila,
        r.atendimentos_dia, r.atendimentos_no_dia, r.protocolos_abertos, r.idiomas,
        r.protocolo_id, r.numero, r.idioma, r.descricao, r.prioridade, r.status, r.created_at,
        r.updated_at, r.crm_itens
    FROM consultores_atribuir_lote(
        ARRAY(SELECT p_idiomas[n] FROM unnest(v_itens) AS n),
        ARRAY(SELECT p_agora[n] FROM unnest(v_itens) AS n),
        p_fuso_padrao,
        ARRAY(SELECT p_chave_id[n] FROM unnest(v_itens) AS n),
        ARRAY(SELECT p_chave_descricao[n] FROM unnest(v_itens) AS n),
        ARRAY(SELECT p_request_id[n] FROM unnest(v_itens) AS n),
        p_acao, p_entidade,
        ARRAY(SELECT p_crm_tipo[n] FROM unnest(v_itens) AS n),
        ARRAY(SELECT p_crm_alvo[n] FROM unnest(v_itens) AS n),
        p_nota,
        ARRAY(SELECT p_origem[n] FROM unnest(v_itens) AS n)) AS r;
END
$$;

-- Both read by index whatever the statistics say, as the batch function does
-- (2026-11-25-000000_atribuir_lote_por_lote), and with its generic plans: with sequential
-- scans off, PostgreSQL otherwise judged every generic plan too costly and planned the
-- statements again on every call (0.12 ms of a batch of eight keys).
ALTER FUNCTION consultores_reservar_chaves(TEXT[], TEXT[], TIMESTAMPTZ[])
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off;
ALTER FUNCTION consultores_atribuir_lote_com_chaves(TEXT[], TEXT[], TEXT[], TIMESTAMPTZ[], TEXT,
                                                    BIGINT[], TEXT[], TEXT[], TEXT, TEXT, TEXT[],
                                                    TEXT[], TEXT, TEXT[])
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off;
