-- The assignments report counts the rotation's protocols (those with a language) by time range:
-- one range scan per day, index only.
CREATE INDEX IF NOT EXISTS protocolos_atribuicoes_idx
    ON protocolos (created_at, consultor_id, idioma)
    WHERE idioma IS NOT NULL;
