//! The retry schedule is the domain's (one backoff for every retry of the service).

pub use consultores_domain::Backoff;
