//! The SQL check constraints and the domain's enums agree: every name an enum stores is accepted
//! on both backends, and a name outside it is refused. The names come from the enums themselves
//! (`names()`), so a value added to an enum fails here until a migration accepts it.

use consultores_domain::{CrmActionKind, CrmTargetKind};
use consultores_persistence::testing::TestDatabase;

use crate::common::{count, on_both_backends};

on_both_backends!(every_crm_action_and_target_kind_is_stored_and_no_other_name,);

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
