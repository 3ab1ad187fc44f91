use super::*;

/// The note of protocol `counter` handed to `consultant`.
fn note_of(counter: i64, consultant: &str) -> String {
    assignment_note(&ProtocolNumber::from_counter(counter).unwrap(), consultant)
}

#[test]
fn the_note_names_the_protocol_and_the_consultant() {
    assert_eq!(
        note_of(42, "João Silva"),
        "Protocolo #00042 — atendimento atribuído a João Silva"
    );
}

#[test]
fn a_name_containing_a_placeholder_is_kept_as_written() {
    assert_eq!(
        note_of(7, "Ana {numero}"),
        "Protocolo #00007 — atendimento atribuído a Ana {numero}"
    );
}

#[test]
fn targets_parse_and_print_their_ids() {
    assert_eq!(CrmTarget::deal(42), Ok(CrmTarget::Deal(42)));
    assert_eq!(CrmTarget::deal(0), Err(InvalidValue::NotPositive));
    assert_eq!(CrmTarget::person(-1), Err(InvalidValue::NotPositive));
    let lead = CrmTarget::lead(" ADF21080-0E10-11EB-879B-05D71FB426EC ").unwrap();
    assert_eq!(
        lead,
        CrmTarget::Lead("adf21080-0e10-11eb-879b-05d71fb426ec".into())
    );
    assert_eq!(lead.kind().as_str(), "lead");
    assert_eq!(lead.id_text(), "adf21080-0e10-11eb-879b-05d71fb426ec");
    assert_eq!(CrmTarget::Deal(42).id_text(), "42");
}

#[test]
fn lead_ids_must_be_uuids() {
    for bad in [
        "",
        "42",
        "adf21080-0e10-11eb-879b-05d71fb426e",
        "adf21080x0e10-11eb-879b-05d71fb426ec",
        "gdf21080-0e10-11eb-879b-05d71fb426ec",
        "adf21080-0e10-11eb-879b-05d71fb426ec0",
    ] {
        assert_eq!(CrmTarget::lead(bad), Err(InvalidValue::NotAUuid), "{bad:?}");
    }
}

#[test]
fn targets_round_trip_through_their_parts() {
    for target in [
        CrmTarget::Deal(1),
        CrmTarget::Person(99),
        CrmTarget::Lead("3c0e4a7e-1f2b-11f0-9a3d-0242ac120002".into()),
    ] {
        let kind: CrmTargetKind = target.kind().as_str().parse().unwrap();
        assert_eq!(CrmTarget::from_parts(kind, &target.id_text()), Ok(target));
    }
    assert!("org".parse::<CrmTargetKind>().is_err());
    assert!(CrmTarget::from_parts(CrmTargetKind::Deal, "abc").is_err());
}

#[test]
fn action_kinds_have_portuguese_names() {
    for kind in [CrmActionKind::SetOwner, CrmActionKind::AddNote] {
        assert_eq!(kind.as_str().parse::<CrmActionKind>(), Ok(kind));
    }
    assert_eq!(
        CrmAction::SetOwner(PipedriveUserId::new(7).unwrap()).kind(),
        CrmActionKind::SetOwner
    );
    assert_eq!(
        CrmAction::AddNote("x".into()).kind().to_string(),
        "adicionar_nota"
    );
    assert!("apagar".parse::<CrmActionKind>().is_err());
}

#[test]
fn states_have_their_wire_names_and_reasons() {
    let pending = DeliveryState::Pending { last_error: None };
    assert_eq!(pending.as_str(), "pendente");
    assert_eq!(pending.reason(), None);
    let retrying = DeliveryState::Pending {
        last_error: Some("503".into()),
    };
    assert_eq!(retrying.reason(), Some("503"));
    assert_eq!(DeliveryState::Done.as_str(), "concluido");
    let failed = DeliveryState::Failed {
        reason: "404".into(),
    };
    assert_eq!(failed.as_str(), "falhou");
    assert_eq!(failed.reason(), Some("404"));
    assert_eq!(
        DeliveryState::from_parts("falhou", Some("404".into())),
        Ok(failed)
    );
    assert!(DeliveryState::from_parts("perdido", None).is_err());
}

#[test]
fn statuses_serialize_with_wire_names_and_back() {
    let status = CrmActionStatus {
        action: CrmActionKind::SetOwner,
        target: CrmTarget::Deal(42),
        state: DeliveryState::Failed {
            reason: "Pipedrive respondeu 404 Not Found".into(),
        },
        attempts: 1,
    };
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "acao": "definir_responsavel",
            "alvo": "deal",
            "alvo_id": "42",
            "estado": "falhou",
            "motivo": "Pipedrive respondeu 404 Not Found",
            "tentativas": 1
        })
    );
    let back: CrmActionStatus = serde_json::from_value(json).unwrap();
    assert_eq!(back, status);
}
