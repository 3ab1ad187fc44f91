-- API keys adopted from v6 were chosen by people, so a fast hash of one (SHA-256) can be
-- reversed by guessing. They are stored with argon2id (slow, salted) instead; keys the service
-- generates (32 random bytes) keep SHA-256, which lets a key be found by its hash in one
-- indexed lookup.
--
-- hash_kind says which: 'sha256' (lowercase hex digest) or 'argon2id' (a PHC string). SQL
-- cannot compute argon2id: the v6 adoption (2026-01-01-000000_initial) hands each plain key to
-- v6_chaves_a_converter, and the service hashes and deletes them right after the migrations
-- (Database::run_migrations), in the same start-up or `consultores migrate`.
ALTER TABLE api_keys ALTER COLUMN key_hash TYPE VARCHAR(255); -- widens: VARCHAR(64) before
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS hash_kind VARCHAR(10) NOT NULL DEFAULT 'sha256';
CREATE TABLE IF NOT EXISTS v6_chaves_a_converter (
    api_key_id BIGINT PRIMARY KEY REFERENCES api_keys (id),
    chave TEXT NOT NULL
);
