-- Back to keys claimed by inserting their row: the service of the previous migration calls
-- none of these functions.
DROP FUNCTION IF EXISTS consultores_atribuir_lote_com_chaves(TEXT[], TEXT[], TEXT[], TIMESTAMPTZ[],
    TEXT, BIGINT[], TEXT[], TEXT[], TEXT, TEXT, TEXT[], TEXT[], TEXT, TEXT[]);
DROP FUNCTION IF EXISTS consultores_reservar_chaves(TEXT[], TEXT[], TIMESTAMPTZ[]);
DROP FUNCTION IF EXISTS consultores_travar_chaves(TEXT[], TEXT[]);
