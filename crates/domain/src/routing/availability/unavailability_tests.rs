use super::Unavailability;

#[test]
fn reasons_round_trip_through_their_wire_names() {
    assert_eq!(Unavailability::names().len(), 7);
    for reason in Unavailability::all() {
        assert_eq!(reason.as_str().parse::<Unavailability>(), Ok(reason));
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{}\"", reason.as_str()));
        assert_eq!(
            serde_json::from_str::<Unavailability>(&json).unwrap(),
            reason
        );
    }
    assert_eq!(Unavailability::OutOfRotation.as_str(), "fora_da_rotacao");
    assert!("Inactive".parse::<Unavailability>().is_err());
}
