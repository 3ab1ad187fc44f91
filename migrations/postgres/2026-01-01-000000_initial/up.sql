-- The consultores schema on PostgreSQL.
--
-- This first migration serves two kinds of database:
--   * an empty one: it creates every table in its final shape;
--   * a database of v6 (the Python service this one replaces; see shared/V6-SCHEMA.md), which has
--     no __diesel_schema_migrations table, so this migration runs on it too: it converts the v6
--     tables IN PLACE, keeping every row.
-- Every step is therefore guarded ("create if missing, otherwise convert"), and is a no-op where
-- the schema already has its final shape. Diesel runs the whole file in one transaction: a failure
-- anywhere leaves the database exactly as it was.

-- 1. v6 leftovers. The trigger inserts a protocol whenever ultimo_atendimento changes: left in
--    place it would create a second protocol on every assignment.
DO $$
BEGIN
    IF to_regclass('consultores') IS NOT NULL THEN
        DROP TRIGGER IF EXISTS trg_create_protocol_on_consultant_selection ON consultores;
    END IF;
END
$$;
DROP FUNCTION IF EXISTS create_protocol_on_consultant_selection() CASCADE;
DROP FUNCTION IF EXISTS create_protocol_for_consultant(integer);
DROP FUNCTION IF EXISTS get_next_protocol_number();
DROP SEQUENCE IF EXISTS seq_numero_protocolo;

-- 2. Tables that do not exist yet, in their final shape.
CREATE TABLE IF NOT EXISTS consultores (
    id BIGSERIAL PRIMARY KEY,
    nome VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    telefone VARCHAR(50),
    status_ativo BOOLEAN NOT NULL DEFAULT TRUE,
    status_ativo_sequencial BOOLEAN NOT NULL DEFAULT TRUE,
    status_online BOOLEAN NOT NULL DEFAULT FALSE,
    ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT,
    removido_em TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS protocolos (
    id BIGSERIAL PRIMARY KEY,
    numero VARCHAR(20) NOT NULL CONSTRAINT protocolos_numero_key UNIQUE,
    -- No ON DELETE CASCADE: consultants are soft-deleted and their protocols keep their history.
    consultor_id BIGINT CONSTRAINT protocolos_consultor_id_fkey REFERENCES consultores (id),
    idioma VARCHAR(5),
    descricao TEXT,
    prioridade VARCHAR(10) NOT NULL DEFAULT 'normal',
    status VARCHAR(20) NOT NULL DEFAULT 'aberto',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS controle_protocolo (
    id INTEGER PRIMARY KEY,
    ultimo_numero BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
    id BIGSERIAL PRIMARY KEY,
    -- Hex SHA-256 of the secret; the secret itself is never stored.
    key_hash VARCHAR(64) NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    description VARCHAR(255),
    scope VARCHAR(20) NOT NULL DEFAULT 'admin',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

-- 3. Converting v6 tables. Each block only acts on what is still in the v6 shape.

-- 3a. Widen serial ids to 64 bits (tables, referencing columns and their sequences). The v6
--     foreign key (ON DELETE CASCADE) goes first; step 3d recreates it without cascade.
DO $$
DECLARE
    fk RECORD;
    target RECORD;
    seq TEXT;
BEGIN
    FOR fk IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'protocolos'::regclass AND contype = 'f' AND confdeltype <> 'a'
    LOOP
        EXECUTE format('ALTER TABLE protocolos DROP CONSTRAINT %I', fk.conname);
    END LOOP;

    FOR target IN
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema()
          AND data_type IN ('integer', 'smallint')
          AND (table_name, column_name) IN (('consultores', 'id'), ('consultores', 'id_pipedrive'),
                                            ('protocolos', 'id'), ('protocolos', 'consultor_id'),
                                            ('api_keys', 'id'), ('controle_protocolo', 'ultimo_numero'))
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE BIGINT', target.table_name, target.column_name);
        seq := pg_get_serial_sequence(target.table_name, target.column_name);
        IF seq IS NOT NULL THEN
            EXECUTE format('ALTER SEQUENCE %s AS BIGINT', seq);
        END IF;
    END LOOP;
END
$$;

-- 3b. consultores: NOT NULL switches, soft delete, empty strings that meant "none".
ALTER TABLE consultores ADD COLUMN IF NOT EXISTS removido_em TIMESTAMPTZ;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'consultores'
                 AND column_name IN ('status_ativo', 'status_ativo_sequencial', 'status_online')
                 AND is_nullable = 'YES') THEN
        -- v6 allowed NULL switches; its rotation only picked rows where all three were TRUE, so a
        -- NULL never made anyone eligible: FALSE keeps every consultant's rotation behaviour.
        UPDATE consultores
        SET status_ativo = coalesce(status_ativo, FALSE),
            status_ativo_sequencial = coalesce(status_ativo_sequencial, FALSE),
            status_online = coalesce(status_online, FALSE)
        WHERE status_ativo IS NULL OR status_ativo_sequencial IS NULL OR status_online IS NULL;
        ALTER TABLE consultores
            ALTER COLUMN status_ativo SET NOT NULL,
            ALTER COLUMN status_ativo SET DEFAULT TRUE,
            ALTER COLUMN status_ativo_sequencial SET NOT NULL,
            ALTER COLUMN status_ativo_sequencial SET DEFAULT TRUE,
            ALTER COLUMN status_online SET NOT NULL,
            ALTER COLUMN status_online SET DEFAULT FALSE;
    END IF;
END
$$;

-- 3c. Languages: one row per consultant and language, in the order given. v6 kept them in an
--     array as typed by users: lowercase them and keep the first occurrence of each.
CREATE TABLE IF NOT EXISTS consultor_idiomas (
    consultor_id BIGINT NOT NULL REFERENCES consultores (id),
    idioma VARCHAR(5) NOT NULL,
    posicao INTEGER NOT NULL,
    PRIMARY KEY (consultor_id, idioma)
);

DO $$
DECLARE
    bad TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'consultores'
                 AND column_name = 'idiomas') THEN
        -- Every Unicode space trimmed (as Rust's str::trim), not only ASCII ones (btrim).
        CREATE TEMPORARY TABLE v6_idiomas ON COMMIT DROP AS
        SELECT c.id AS consultor_id,
               lower(regexp_replace(u.idioma, '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$', '', 'g')) AS idioma,
               min(u.ordem) AS ordem
        FROM consultores c
        CROSS JOIN LATERAL unnest(c.idiomas) WITH ORDINALITY AS u (idioma, ordem)
        WHERE u.idioma IS NOT NULL AND u.idioma !~ '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$'
        GROUP BY c.id, lower(regexp_replace(u.idioma, '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$', '', 'g'));

        -- Values the service cannot represent would make every listing fail: refuse to adopt
        -- and name them, so they can be fixed in v6 first (nothing is altered or lost).
        SELECT string_agg(format('consultor %s: %L', consultor_id, idioma), ', ' ORDER BY consultor_id)
        INTO bad
        FROM v6_idiomas
        WHERE NOT (length(idioma) BETWEEN 2 AND 5 AND idioma ~ '^[a-z]+(-[a-z]+)?$');
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'cannot adopt the v6 database: invalid language codes (2 to 5 letters, at most one inner hyphen): %', bad;
        END IF;

        -- LanguageList: at most 20 distinct languages.
        SELECT string_agg(format('consultor %s (%s)', consultor_id, n), ', ' ORDER BY consultor_id)
        INTO bad
        FROM (SELECT consultor_id, count(*) AS n FROM v6_idiomas
              GROUP BY consultor_id HAVING count(*) > 20) crowded;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'cannot adopt the v6 database: more than 20 distinct languages: %. Remove some in v6, then start again; nothing was changed.', bad;
        END IF;

        SELECT string_agg(c.id::TEXT, ', ' ORDER BY c.id) INTO bad
        FROM consultores c
        WHERE NOT EXISTS (SELECT 1 FROM v6_idiomas v WHERE v.consultor_id = c.id);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'cannot adopt the v6 database: consultants without any language: ids %', bad;
        END IF;

        INSERT INTO consultor_idiomas (consultor_id, idioma, posicao)
        SELECT consultor_id, idioma,
               (row_number() OVER (PARTITION BY consultor_id ORDER BY ordem) - 1)::INTEGER
        FROM v6_idiomas
        ON CONFLICT DO NOTHING;

        ALTER TABLE consultores DROP COLUMN idiomas;
    END IF;
END
$$;

-- v6 forms stored "" for a missing email or phone; the service reads that as "none".
UPDATE consultores SET email = NULL WHERE email IS NOT NULL AND btrim(email) = '';
UPDATE consultores SET telefone = NULL WHERE telefone IS NOT NULL AND btrim(telefone) = '';

-- Names are read by ConsultantName::parse, which trims every Unicode space (Rust's str::trim):
-- trimming them here is what the service would do; anything else it refuses is refused below.
UPDATE consultores
SET nome = regexp_replace(nome, '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$', '', 'g')
WHERE nome ~ '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]|[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$';

DO $$
DECLARE
    bad TEXT;
BEGIN
    SELECT string_agg(format('%s (ids %s)', lowered, ids), '; ' ORDER BY lowered) INTO bad
    FROM (
        SELECT lower(email) AS lowered, string_agg(id::TEXT, ', ' ORDER BY id) AS ids
        FROM consultores
        WHERE removido_em IS NULL AND email IS NOT NULL
        GROUP BY lower(email)
        HAVING count(*) > 1
    ) duplicates;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot adopt the v6 database: emails must be unique (case-insensitive) among consultants, but these are shared: %. Fix or clear them in v6, then start again; nothing was changed.', bad;
    END IF;

    -- ConsultantName: 3 to 255 characters after trimming (done above), no control characters.
    SELECT string_agg(format('%s (%L)', id, nome), ', ' ORDER BY id) INTO bad
    FROM consultores
    WHERE char_length(nome) NOT BETWEEN 3 AND 255 OR nome ~ '[\u0001-\u001F\u007F-\u009F]';
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot adopt the v6 database: names must have 3 to 255 characters and no control characters (line breaks, tabs) once surrounding spaces are trimmed: consultant ids %. Fix them in v6, then start again; nothing was changed.', bad;
    END IF;
END
$$;

-- 3d. protocolos: wider numbers, optional consultant without cascade, the extension fields.
ALTER TABLE protocolos ALTER COLUMN numero TYPE VARCHAR(20);
ALTER TABLE protocolos ALTER COLUMN consultor_id DROP NOT NULL;
ALTER TABLE protocolos ADD COLUMN IF NOT EXISTS idioma VARCHAR(5);
ALTER TABLE protocolos ADD COLUMN IF NOT EXISTS descricao TEXT;
ALTER TABLE protocolos ADD COLUMN IF NOT EXISTS prioridade VARCHAR(10) NOT NULL DEFAULT 'normal';
ALTER TABLE protocolos ADD COLUMN IF NOT EXISTS status VARCHAR(20) NOT NULL DEFAULT 'aberto';
ALTER TABLE protocolos ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ;
UPDATE protocolos SET created_at = now() WHERE created_at IS NULL;
UPDATE protocolos SET updated_at = created_at WHERE updated_at IS NULL;
ALTER TABLE protocolos
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN updated_at SET DEFAULT now();

DO $$
DECLARE
    redundant RECORD;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'protocolos'::regclass AND contype = 'f') THEN
        ALTER TABLE protocolos
            ADD CONSTRAINT protocolos_consultor_id_fkey
            FOREIGN KEY (consultor_id) REFERENCES consultores (id);
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'protocolos'::regclass AND i.indisunique
                     AND i.indnkeyatts = 1 AND a.attname = 'numero') THEN
        ALTER TABLE protocolos ADD CONSTRAINT protocolos_numero_key UNIQUE (numero);
    END IF;

    -- v6's plain indexes on numero and consultor_id are covered by the unique constraint and by
    -- (consultor_id, id) below; they would only slow down inserts.
    FOR redundant IN
        SELECT c.relname FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = 'protocolos'::regclass AND NOT i.indisunique AND NOT i.indisprimary
          AND i.indnkeyatts = 1 AND i.indexprs IS NULL AND i.indpred IS NULL
          AND a.attname IN ('numero', 'consultor_id')
    LOOP
        EXECUTE format('DROP INDEX %I', redundant.relname);
    END LOOP;
END
$$;

-- Protocol numbers as ProtocolNumber reads them: '#' and 5 digits, or more digits without a
-- leading zero, never zero (and at most 18 digits, what the 64-bit counter holds). Renumbering
-- would break every reference to a protocol outside this database, so others are refused.
DO $$
DECLARE
    bad TEXT;
    how_many BIGINT;
BEGIN
    SELECT count(*) INTO how_many FROM protocolos
    WHERE numero !~ '^#([0-9]{5}|[1-9][0-9]{5,17})$' OR numero ~ '^#0+$';
    SELECT string_agg(format('%s (%L)', id, numero), ', ' ORDER BY id) INTO bad
    FROM (SELECT id, numero FROM protocolos
          WHERE numero !~ '^#([0-9]{5}|[1-9][0-9]{5,17})$' OR numero ~ '^#0+$'
          ORDER BY id LIMIT 100) wrong;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot adopt the v6 database: % protocol numbers are not #NNNNN (5 digits, or more without a leading zero, not zero); ids (first 100): %. Fix them in v6, then start again; nothing was changed.', how_many, bad;
    END IF;
END
$$;

-- 3e. The counter: 64 bits, never NULL, the live row id = 1 always present (v6 created it
--     lazily), and never behind a number already in use.
UPDATE controle_protocolo SET ultimo_numero = 0 WHERE ultimo_numero IS NULL;
UPDATE controle_protocolo SET updated_at = now() WHERE updated_at IS NULL;
ALTER TABLE controle_protocolo
    ALTER COLUMN ultimo_numero SET NOT NULL,
    ALTER COLUMN ultimo_numero SET DEFAULT 0,
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN updated_at SET DEFAULT now();
INSERT INTO controle_protocolo (id, ultimo_numero, updated_at) VALUES (1, 0, now())
ON CONFLICT (id) DO NOTHING;
UPDATE controle_protocolo
SET ultimo_numero = highest.numero
FROM (
    SELECT max(substring(numero FROM '^#0*([0-9]{1,18})$')::BIGINT) AS numero FROM protocolos
) highest
WHERE controle_protocolo.id = 1 AND highest.numero > controle_protocolo.ultimo_numero;

-- 3f. api_keys: v6 stored the keys in plain text. Keep them working, stored hashed; inactive keys
--     stay refused (revoked); v6 had one all-powerful key, so adopted keys are admin. People chose
--     these keys, so they get a slow salted hash (argon2id), which SQL cannot compute: each plain
--     key is handed to v6_chaves_a_converter and its key_hash holds a placeholder that no key
--     matches; right after the migrations the service hashes the keys (as they are presented,
--     i.e. without surrounding spaces) and empties the table (migration
--     2026-09-01-000001_api_key_hash_kinds and Database::run_migrations).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'api_keys'
                 AND column_name = 'key') THEN
        ALTER TABLE api_keys
            ADD COLUMN IF NOT EXISTS key_hash VARCHAR(64),
            ADD COLUMN IF NOT EXISTS scope VARCHAR(20) NOT NULL DEFAULT 'admin',
            ADD COLUMN IF NOT EXISTS last_used_at TIMESTAMPTZ,
            ADD COLUMN IF NOT EXISTS revoked_at TIMESTAMPTZ;
        CREATE TABLE IF NOT EXISTS v6_chaves_a_converter (
            api_key_id BIGINT PRIMARY KEY,
            chave TEXT NOT NULL
        );
        INSERT INTO v6_chaves_a_converter (api_key_id, chave)
        SELECT id, key FROM api_keys WHERE key_hash IS NULL AND key IS NOT NULL;
        UPDATE api_keys SET key_hash = 'v6-a-converter:' || id WHERE key_hash IS NULL;
        UPDATE api_keys SET is_active = FALSE WHERE is_active IS NULL;
        UPDATE api_keys SET revoked_at = now() WHERE NOT is_active AND revoked_at IS NULL;
        UPDATE api_keys SET created_at = now() WHERE created_at IS NULL;
        ALTER TABLE api_keys
            ALTER COLUMN key_hash SET NOT NULL,
            ALTER COLUMN is_active SET NOT NULL,
            ALTER COLUMN is_active SET DEFAULT TRUE,
            ALTER COLUMN created_at SET NOT NULL,
            ALTER COLUMN created_at SET DEFAULT now(),
            ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
            DROP COLUMN key;
    END IF;
END
$$;

-- 4. Tables new in this version.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    chave TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- serde_json of the first answer; written in the same transaction that claims the key.
    resposta TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, chave)
);

-- 5. Indexes.
-- Email unique among consultants that are not deleted, case-insensitively.
CREATE UNIQUE INDEX IF NOT EXISTS consultores_email_unique
    ON consultores (lower(email))
    WHERE removido_em IS NULL AND email IS NOT NULL;
-- The rotation: eligible consultants already in queue order, so the head is the first entry.
CREATE INDEX IF NOT EXISTS consultores_rotation_idx
    ON consultores (ultimo_atendimento ASC NULLS FIRST, id)
    WHERE removido_em IS NULL AND status_ativo AND status_ativo_sequencial AND status_online;
CREATE INDEX IF NOT EXISTS consultor_idiomas_idioma_idx ON consultor_idiomas (idioma, consultor_id);
-- GET /protocolos?consultor_id=…, ORDER BY id.
CREATE INDEX IF NOT EXISTS protocolos_consultor_id_id_idx ON protocolos (consultor_id, id);
CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
