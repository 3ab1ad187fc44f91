//! Rows the domain cannot read, in listings. A row written outside the service (by hand, or by
//! v6 before adoption) may break a rule the domain enforces; a listing then leaves that row out
//! and reports it here, instead of failing for every row. Reading the row alone (by id) still
//! fails, as an error about that row only.

use std::sync::{Arc, OnceLock};

use consultores_domain::{error_chain, DomainError};

use crate::error::StoreError;

/// Receives a description of each unreadable row a listing left out (e.g. `consultant 7:
/// stored nome "Al": …`); the binary logs it as a warning.
pub type UnreadableRowReport = Arc<dyn Fn(&str) + Send + Sync>;

/// Where a [`crate::Database`] reports unreadable rows (nowhere until set).
#[derive(Default)]
pub(crate) struct UnreadableRows(OnceLock<UnreadableRowReport>);

impl UnreadableRows {
    pub(crate) fn set(&self, report: UnreadableRowReport) {
        // Set once at start-up; a second call keeps the first receiver.
        let _ = self.0.set(report);
    }

    /// The values that could be read; each failure is reported and left out.
    pub(crate) fn keep_readable<T>(
        &self,
        values: impl IntoIterator<Item = Result<T, StoreError>>,
    ) -> Vec<T> {
        values
            .into_iter()
            .filter_map(|value| match value {
                Ok(value) => Some(value),
                Err(error) => {
                    if let Some(report) = self.0.get() {
                        report(&error_chain(&DomainError::from(error)));
                    }
                    None
                }
            })
            .collect()
    }
}
