-- The twin of the PostgreSQL migration: which hash a key is stored with ('sha256' for keys the
-- service generates, 'argon2id' for keys adopted from v6, which never ran on SQLite), and the
-- (always empty here) hand-over table of plain v6 keys waiting to be hashed.
ALTER TABLE api_keys ADD COLUMN hash_kind TEXT NOT NULL DEFAULT 'sha256';
CREATE TABLE IF NOT EXISTS v6_chaves_a_converter (
    api_key_id INTEGER PRIMARY KEY REFERENCES api_keys (id),
    chave TEXT NOT NULL
);
