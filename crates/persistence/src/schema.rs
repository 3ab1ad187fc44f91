//! The tables, one definition for both backends (names inherited from v6).

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    consultores (id) {
        id -> BigInt,
        nome -> Text,
        email -> Nullable<Text>,
        telefone -> Nullable<Text>,
        status_ativo -> Bool,
        status_ativo_sequencial -> Bool,
        status_online -> Bool,
        ultimo_atendimento -> Nullable<UtcTimestamp>,
        id_pipedrive -> Nullable<BigInt>,
        removido_em -> Nullable<UtcTimestamp>,
        peso -> Integer,
        limite_diario -> Nullable<Integer>,
        limite_abertos -> Nullable<Integer>,
        fuso_horario -> Nullable<Text>,
        horarios -> Nullable<Text>,
        ausencias -> Nullable<Text>,
        chave_fila -> Nullable<BigInt>,
        atendimentos_dia -> Nullable<Date>,
        atendimentos_no_dia -> Integer,
        protocolos_abertos -> Integer,
    }
}

diesel::table! {
    consultor_idiomas (consultor_id, idioma) {
        consultor_id -> BigInt,
        idioma -> Text,
        posicao -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    protocolos (id) {
        id -> BigInt,
        numero -> Text,
        consultor_id -> Nullable<BigInt>,
        idioma -> Nullable<Text>,
        descricao -> Nullable<Text>,
        prioridade -> Text,
        status -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    controle_protocolo (id) {
        id -> Integer,
        ultimo_numero -> BigInt,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    api_keys (id) {
        id -> BigInt,
        key_hash -> Text,
        description -> Nullable<Text>,
        scope -> Text,
        is_active -> Bool,
        created_at -> UtcTimestamp,
        last_used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
        hash_kind -> Text,
    }
}

diesel::table! {
    /// Plain keys adopted from v6, waiting to be hashed with argon2id (emptied at start-up).
    v6_chaves_a_converter (api_key_id) {
        api_key_id -> BigInt,
        chave -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    idempotency_keys (scope, chave) {
        scope -> Text,
        chave -> Text,
        fingerprint -> Text,
        resposta -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    auditoria (id) {
        id -> BigInt,
        em -> UtcTimestamp,
        chave_id -> Nullable<BigInt>,
        chave_descricao -> Text,
        request_id -> Text,
        acao -> Text,
        entidade -> Text,
        entidade_id -> BigInt,
        alteracoes -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    crm_outbox (id) {
        id -> BigInt,
        protocolo_id -> Nullable<BigInt>,
        acao -> Text,
        alvo_tipo -> Text,
        alvo_id -> Text,
        owner_id -> Nullable<BigInt>,
        conteudo -> Nullable<Text>,
        estado -> Text,
        tentativas -> Integer,
        proxima_tentativa -> UtcTimestamp,
        bloqueado_ate -> Nullable<UtcTimestamp>,
        ultimo_erro -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    pipedrive_webhook_eventos (id) {
        id -> BigInt,
        chave -> Text,
        acao -> Text,
        entidade -> Text,
        entidade_id -> Text,
        tentativa -> Integer,
        payload -> Text,
        estado -> Text,
        motivo -> Nullable<Text>,
        protocolo_id -> Nullable<BigInt>,
        recebido_em -> UtcTimestamp,
        processado_em -> Nullable<UtcTimestamp>,
        bloqueado_ate -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    pipedrive_pausa (id) {
        id -> Integer,
        ate -> UtcTimestamp,
        motivo -> Text,
        atualizado_em -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    painel_sessoes (token_hash) {
        token_hash -> Text,
        chave_id -> Nullable<BigInt>,
        chave_descricao -> Nullable<Text>,
        escopo -> Text,
        csrf -> Text,
        criado_em -> UtcTimestamp,
        usado_em -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    fila (id) {
        id -> BigInt,
        idioma -> Text,
        alternativas -> Text,
        referencia -> Nullable<Text>,
        descricao -> Nullable<Text>,
        prioridade -> Text,
        crm_tipo -> Nullable<Text>,
        crm_alvo -> Nullable<Text>,
        estado -> Text,
        criado_em -> UtcTimestamp,
        expira_em -> UtcTimestamp,
        atribuido_em -> Nullable<UtcTimestamp>,
        encerrado_em -> Nullable<UtcTimestamp>,
        protocolo_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhooks (id) {
        id -> BigInt,
        url -> Text,
        eventos -> Text,
        descricao -> Nullable<Text>,
        segredo -> Text,
        ativo -> Bool,
        created_at -> UtcTimestamp,
        removido_em -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhook_entregas (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        evento -> Text,
        corpo -> Text,
        estado -> Text,
        tentativas -> Integer,
        ultimo_status -> Nullable<Integer>,
        ultimo_erro -> Nullable<Text>,
        proxima_tentativa -> UtcTimestamp,
        bloqueado_ate -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::joinable!(webhook_entregas -> webhooks (webhook_id));
diesel::joinable!(consultor_idiomas -> consultores (consultor_id));
diesel::joinable!(protocolos -> consultores (consultor_id));

diesel::allow_tables_to_appear_in_same_query!(
    consultores,
    consultor_idiomas,
    protocolos,
    controle_protocolo,
    api_keys,
    idempotency_keys,
    auditoria,
    crm_outbox,
    pipedrive_webhook_eventos,
    pipedrive_pausa,
    painel_sessoes,
    fila,
    webhooks,
    webhook_entregas,
);
