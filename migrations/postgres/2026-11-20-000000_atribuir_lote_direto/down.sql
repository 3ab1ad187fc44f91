-- Back to 2026-11-01-000000_atribuir_mais_barato's assignment and batch (the step
-- consultores_atribuir_passo per item, the counter updated per item) and its trigger
-- protocolos_abertos_contagem, to 2026-06-01-000000_regras_de_rodizio's
-- consultores_contar_abertos, and to the one trigger consultores_fila_reavaliar of
-- 2026-10-01-000000_fila_por_idioma.

DROP TRIGGER IF EXISTS consultores_fila_reavaliar_contagem ON consultores;
DROP FUNCTION IF EXISTS consultores_fila_marcar_contagem();

CREATE OR REPLACE FUNCTION consultores_contar_abertos() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    v_saiu BIGINT;
    v_entrou BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.consultor_id IS NOT NULL
       AND OLD.status IN ('aberto', 'em_andamento') THEN
        v_saiu := OLD.consultor_id;
    END IF;
    IF NEW.consultor_id IS NOT NULL AND NEW.status IN ('aberto', 'em_andamento') THEN
        v_entrou := NEW.consultor_id;
    END IF;
    IF v_saiu IS NOT DISTINCT FROM v_entrou THEN
        RETURN NULL;
    END IF;
    -- One statement over both rows, in id order: two reassignments in opposite directions lock
    -- the two consultants in the same order, so they cannot deadlock.
    UPDATE consultores c
    SET protocolos_abertos = c.protocolos_abertos
        + CASE WHEN c.id = v_entrou THEN 1 ELSE 0 END
        - CASE WHEN c.id = v_saiu THEN 1 ELSE 0 END
    FROM (SELECT id FROM consultores WHERE id IN (v_saiu, v_entrou) ORDER BY id FOR UPDATE) alvo
    WHERE c.id = alvo.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS protocolos_abertos_contagem ON protocolos;
CREATE TRIGGER protocolos_abertos_contagem
    AFTER INSERT OR UPDATE OF status, consultor_id ON protocolos
    FOR EACH ROW
    WHEN (current_setting('consultores.atribuindo', TRUE) IS DISTINCT FROM 'sim')
    EXECUTE FUNCTION consultores_contar_abertos();

DROP TRIGGER IF EXISTS consultores_fila_reavaliar ON consultores;
CREATE TRIGGER consultores_fila_reavaliar
    BEFORE UPDATE ON consultores
    FOR EACH ROW
    WHEN (OLD.removido_em IS DISTINCT FROM NEW.removido_em
          OR OLD.status_ativo IS DISTINCT FROM NEW.status_ativo
          OR OLD.status_ativo_sequencial IS DISTINCT FROM NEW.status_ativo_sequencial
          OR OLD.status_online IS DISTINCT FROM NEW.status_online
          OR OLD.limite_diario IS DISTINCT FROM NEW.limite_diario
          OR OLD.limite_abertos IS DISTINCT FROM NEW.limite_abertos
          OR OLD.fuso_horario IS DISTINCT FROM NEW.fuso_horario
          OR OLD.horarios IS DISTINCT FROM NEW.horarios
          OR OLD.ausencias IS DISTINCT FROM NEW.ausencias
          OR NEW.protocolos_abertos < OLD.protocolos_abertos
          OR ((OLD.chave_fila IS DISTINCT FROM NEW.chave_fila
               OR OLD.atendimentos_dia IS DISTINCT FROM NEW.atendimentos_dia
               OR OLD.atendimentos_no_dia IS DISTINCT FROM NEW.atendimentos_no_dia)
              AND current_setting('consultores.atribuindo', TRUE) IS DISTINCT FROM 'sim'))
    EXECUTE FUNCTION consultores_fila_marcar();

CREATE OR REPLACE FUNCTION consultores_atribuir(
    p_idiomas TEXT[],
    p_agora TIMESTAMPTZ,
    p_fuso_padrao TEXT,
    p_chave_id BIGINT,
    p_chave_descricao TEXT,
    p_request_id TEXT,
    p_acao TEXT,
    p_entidade TEXT,
    p_crm_tipo TEXT,
    p_crm_alvo TEXT,
    p_nota TEXT,
    p_origem TEXT
) RETURNS TABLE (
    consultor_id BIGINT, nome TEXT, email TEXT, telefone TEXT, status_ativo BOOLEAN,
    status_ativo_sequencial BOOLEAN, status_online BOOLEAN, ultimo_atendimento TIMESTAMPTZ,
    id_pipedrive BIGINT, peso INTEGER, limite_diario INTEGER, limite_abertos INTEGER,
    fuso_horario TEXT, horarios TEXT, ausencias TEXT, chave_fila BIGINT, atendimentos_dia DATE,
    atendimentos_no_dia INTEGER, protocolos_abertos INTEGER,
    idiomas TEXT, protocolo_id BIGINT, numero TEXT, idioma TEXT,
    descricao TEXT, prioridade TEXT, status TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    crm_itens BIGINT
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The lock the counter's UPDATE takes (it changes no key column).
    PERFORM 1 FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    RETURN QUERY
    SELECT * FROM consultores_atribuir_passo(p_idiomas, p_agora, p_fuso_padrao, p_chave_id,
                                             p_chave_descricao, p_request_id, p_acao,
                                             p_entidade, p_crm_tipo, p_crm_alvo, p_nota,
                                             p_origem);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOBODY_AVAILABLE' USING ERRCODE = 'P0002';
    END IF;
END
$$;

-- The batch (same contract as in 2026-10-15-000000_atribuir_lote): the counter row locked once,
-- then the step per item, in order, without a subtransaction each. An item with nobody
-- eligible has no row.
CREATE OR REPLACE FUNCTION consultores_atribuir_lote(
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
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM controle_protocolo WHERE id = 1 FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the protocol counter row (controle_protocolo id = 1) is missing';
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_agora, 1), 0) LOOP
        RETURN QUERY
        SELECT i, a.*
        FROM consultores_atribuir_passo(string_to_array(p_idiomas[i], ','), p_agora[i],
                                        p_fuso_padrao, p_chave_id[i], p_chave_descricao[i],
                                        p_request_id[i], p_acao, p_entidade, p_crm_tipo[i],
                                        p_crm_alvo[i], p_nota, p_origem[i]) a;
    END LOOP;
END
$$;
