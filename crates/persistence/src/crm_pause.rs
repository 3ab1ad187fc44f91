//! [`CrmPauseStore`] on both backends: the one-row table `pipedrive_pausa`, the pause Pipedrive
//! imposed on the shared API token, which every replica's delivery worker honours.

use chrono::{DateTime, Utc};
use consultores_domain::{CrmPause, CrmPauseStore, DomainError};
use diesel::prelude::*;

use crate::audit::prefix;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::schema::pipedrive_pausa;
use crate::sql_types::Timestamp;

/// The id of the only row.
const ROW: i32 = 1;

/// The longest reason kept.
const MAX_REASON_CHARS: usize = 1_000;

impl Database {
    fn extend_crm_pause(
        &self,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reason = prefix(reason, MAX_REASON_CHARS);
        write_transaction!(self, |conn| {
            // Two statements, each atomic, together a maximum: the row exists after the first;
            // the second moves it forward only.
            diesel::insert_into(pipedrive_pausa::table)
                .values((
                    pipedrive_pausa::id.eq(ROW),
                    pipedrive_pausa::ate.eq(Timestamp(until)),
                    pipedrive_pausa::motivo.eq(reason),
                    pipedrive_pausa::atualizado_em.eq(Timestamp(now)),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            diesel::update(
                pipedrive_pausa::table
                    .filter(pipedrive_pausa::id.eq(ROW))
                    .filter(pipedrive_pausa::ate.lt(Timestamp(until))),
            )
            .set((
                pipedrive_pausa::ate.eq(Timestamp(until)),
                pipedrive_pausa::motivo.eq(reason),
                pipedrive_pausa::atualizado_em.eq(Timestamp(now)),
            ))
            .execute(conn)?;
            Ok(())
        })
    }

    fn current_crm_pause(&self, now: DateTime<Utc>) -> Result<Option<CrmPause>, StoreError> {
        let row: Option<(Timestamp, String)> = with_connection!(self, |conn| {
            pipedrive_pausa::table
                .filter(pipedrive_pausa::id.eq(ROW))
                .filter(pipedrive_pausa::ate.gt(Timestamp(now)))
                .select((pipedrive_pausa::ate, pipedrive_pausa::motivo))
                .first(conn)
                .optional()?
        });
        Ok(row.map(|(until, reason)| CrmPause {
            until: until.0,
            reason,
        }))
    }
}

impl CrmPauseStore for Database {
    fn extend_pause(
        &self,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.extend_crm_pause(until, reason, now)?)
    }

    fn current_pause(&self, now: DateTime<Utc>) -> Result<Option<CrmPause>, DomainError> {
        Ok(self.current_crm_pause(now)?)
    }
}
