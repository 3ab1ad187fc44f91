//! The SQL check constraints and the domain's enums agree: every name an enum stores is accepted
//! on both backends, and a name outside it is refused. The names come from the enums themselves
//! (`names()`), so a value added to an enum fails here until a migration accepts it.

use consultores_domain::{
    CrmActionKind, CrmEventState, CrmTargetKind, DeliveryStateName, DeliveryStatus, NewProtocol,
    ProtocolRepository, WaitingState,
};
use consultores_persistence::testing::{now_micros, TestDatabase};

use crate::common::{actor, count, on_both_backends};

on_both_backends!(
    every_crm_action_and_target_kind_is_stored_and_no_other_name,
    every_crm_action_state_is_stored_and_no_other_name,
    every_crm_event_state_is_stored_and_no_other_name,
    every_waiting_state_is_stored_and_no_other_name,
    every_delivery_status_is_stored_and_no_other_name,
);

/// A fixed timestamp both backends accept.
const AT: &str = "'2026-11-01 00:00:00.000000+00:00'";

/// Inserts one row per name (each through `row(index, name)`), then checks that all were stored
/// and that `row` with a name outside the enum is refused.
fn stores_every_name_and_no_other(
    test: &TestDatabase,
    table: &str,
    names: &[&str],
    row: impl Fn(usize, &str) -> String,
) {
    assert!(names.len() >= 3, "{table}: {names:?}");
    let before = count(test, table);
    for (index, name) in names.iter().enumerate() {
        test.try_execute(&row(index, name))
            .unwrap_or_else(|error| panic!("{table} {name}: {error}"));
    }
    assert_eq!(
        count(test, table) - before,
        i64::try_from(names.len()).unwrap()
    );
    assert!(
        test.try_execute(&row(names.len(), "desconhecido")).is_err(),
        "{table} accepted a name outside the enum"
    );
}

/// A `crm_outbox` row with both an owner and a note, so either action's own rule holds.
fn outbox_row(action: &str, target: &str) -> String {
    let at = "'2026-11-01 00:00:00.000000+00:00'";
    format!(
        "INSERT INTO crm_outbox \
         (acao, alvo_tipo, alvo_id, owner_id, conteudo, proxima_tentativa, created_at, updated_at) \
         VALUES ('{action}', '{target}', '1', 7, 'nota', {at}, {at}, {at})"
    )
}

fn every_crm_action_and_target_kind_is_stored_and_no_other_name(test: &TestDatabase) {
    let actions = CrmActionKind::names();
    let targets = CrmTargetKind::names();
    assert!(actions.len() >= 2 && targets.len() >= 3);
    for action in actions {
        for target in targets {
            test.try_execute(&outbox_row(action, target))
                .unwrap_or_else(|error| panic!("{action} {target}: {error}"));
        }
    }
    assert_eq!(
        count(test, "crm_outbox"),
        i64::try_from(actions.len() * targets.len()).unwrap()
    );
    assert!(test.try_execute(&outbox_row("apagar", "deal")).is_err());
    assert!(test
        .try_execute(&outbox_row(actions[0], "organization"))
        .is_err());
}

fn every_crm_action_state_is_stored_and_no_other_name(test: &TestDatabase) {
    let note = CrmActionKind::AddNote.as_str();
    stores_every_name_and_no_other(
        test,
        "crm_outbox",
        DeliveryStateName::names(),
        |_, state| {
            format!(
                "INSERT INTO crm_outbox (acao, alvo_tipo, alvo_id, conteudo, estado, \
             proxima_tentativa, created_at, updated_at) \
             VALUES ('{note}', 'deal', '1', 'nota', '{state}', {AT}, {AT}, {AT})"
            )
        },
    );
}

fn every_crm_event_state_is_stored_and_no_other_name(test: &TestDatabase) {
    stores_every_name_and_no_other(
        test,
        "pipedrive_webhook_eventos",
        CrmEventState::names(),
        |index, state| {
            format!(
                "INSERT INTO pipedrive_webhook_eventos (chave, acao, entidade, entidade_id, \
                 tentativa, payload, estado, recebido_em) \
                 VALUES ('chave-{index}', 'create', 'deal', '1', 1, '{{}}', '{state}', {AT})"
            )
        },
    );
}

fn every_waiting_state_is_stored_and_no_other_name(test: &TestDatabase) {
    let db = test.database();
    let protocol =
        ProtocolRepository::create(&db, &NewProtocol::default(), now_micros(), None, &actor())
            .unwrap();
    let assigned = WaitingState::Assigned.as_str();
    stores_every_name_and_no_other(test, "fila", WaitingState::names(), |_, state| {
        // An assigned entry names its protocol, and only an assigned one does.
        let protocol = if state == assigned {
            protocol.value.id.0.to_string()
        } else {
            "NULL".to_owned()
        };
        format!(
            "INSERT INTO fila (idioma, estado, criado_em, expira_em, protocolo_id) \
             VALUES ('pt', '{state}', {AT}, {AT}, {protocol})"
        )
    });
}

fn every_delivery_status_is_stored_and_no_other_name(test: &TestDatabase) {
    test.try_execute(&format!(
        "INSERT INTO webhooks (url, eventos, segredo, created_at) \
         VALUES ('https://exemplo.com/gancho', 'atribuicao', 'whsec_x', {AT})"
    ))
    .unwrap();
    stores_every_name_and_no_other(
        test,
        "webhook_entregas",
        DeliveryStatus::names(),
        |_, state| {
            format!(
                "INSERT INTO webhook_entregas (webhook_id, evento, corpo, estado, \
                 proxima_tentativa, created_at, updated_at) \
                 VALUES ((SELECT min(id) FROM webhooks), 'atribuicao', '{{}}', '{state}', \
                 {AT}, {AT}, {AT})"
            )
        },
    );
}
