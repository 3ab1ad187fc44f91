-- Batched assignment (crates/persistence/src/batch.rs): the assignments a process gathered
-- while the batch before was in flight, in one round trip and one transaction. Item i is
-- consultores_atribuir (migration 2026-07-01-000003_atribuir, or whichever later migration
-- redefines it with the same signature) called with the i-th element of each array, in order,
-- so the batch gives exactly what the same calls made one after another would: one counter row
-- lock held from the first item to COMMIT, numbers consecutive in item order.
--
-- p_idiomas[i] is item i's languages in order, comma-separated (a TEXT[] of TEXT[] would have
-- to be rectangular). Nobody eligible for an item (the function raises NOBODY_AVAILABLE) undoes
-- that item alone, its counter update included (the block is a subtransaction), and the item
-- has no row: the batch goes on. Any other error fails the whole batch.
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
DECLARE
    v_mensagem TEXT;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_agora, 1), 0) LOOP
        BEGIN
            RETURN QUERY
            SELECT i, a.*
            FROM consultores_atribuir(string_to_array(p_idiomas[i], ','), p_agora[i],
                                      p_fuso_padrao, p_chave_id[i], p_chave_descricao[i],
                                      p_request_id[i], p_acao, p_entidade, p_crm_tipo[i],
                                      p_crm_alvo[i], p_nota, p_origem[i]) a;
        EXCEPTION WHEN SQLSTATE 'P0002' THEN
            GET STACKED DIAGNOSTICS v_mensagem = MESSAGE_TEXT;
            IF v_mensagem IS DISTINCT FROM 'NOBODY_AVAILABLE' THEN
                RAISE;
            END IF;
        END;
    END LOOP;
END
$$;
