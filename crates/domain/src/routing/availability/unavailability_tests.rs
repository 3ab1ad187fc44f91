use super::Unavailability;

#[test]
fn reasons_round_trip_through_their_wire_names() {
    assert_eq!(Unavailability::names().len(), 7);
    assert_wire_names_round_trip!(Unavailability);
    assert_eq!(Unavailability::OutOfRotation.as_str(), "fora_da_rotacao");
    assert!("Inactive".parse::<Unavailability>().is_err());
}
