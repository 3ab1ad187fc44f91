//! Outbound webhooks: the Standard Webhooks signature ([`signing`]) and, later, delivery.

pub mod signing;
