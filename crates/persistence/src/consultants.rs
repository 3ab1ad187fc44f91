//! [`ConsultantRepository`] on both backends.

use chrono::{DateTime, Utc};
use consultores_domain::{
    Actor, AuditAction, AuditChanges, Consultant, ConsultantFilter, ConsultantId, ConsultantPatch,
    ConsultantRepository, DomainError, NewConsultant, WebhookEvent, Zone,
};
use diesel::dsl::exists;
use diesel::prelude::*;

use crate::audit::NewAuditRow;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::models::{
    audit_created, audit_diff, consultants_with_languages, each_consultant_with_languages,
    language_rows, ConsultantChanges, ConsultantRow, LanguageRow,
};
use crate::queries::{Queries, RowLocks};
use crate::routing_columns::{leave_text, schedule_text};
use crate::schema::{consultor_idiomas, consultores};
use crate::sql_types::Timestamp;
use crate::webhooks::{consultant_data, WebhookOutbox};

impl Database {
    fn create_consultant(
        &self,
        new: &NewConsultant,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Consultant, StoreError> {
        let row = ConsultantRow {
            id: 0,
            name: new.name.as_str().to_owned(),
            email: new.email.as_ref().map(|email| email.as_str().to_owned()),
            phone: new.phone.as_ref().map(|phone| phone.as_str().to_owned()),
            active: new.active,
            in_rotation: new.in_rotation,
            online: new.online,
            // Newcomers join the back of the queue, as in v6.
            last_served_at: Some(Timestamp(now)),
            pipedrive_user_id: new.pipedrive_user_id.map(|id| id.get()),
            weight: rule_int(new.rules.weight.get()),
            daily_limit: new.rules.daily_limit.map(|l| rule_int(l.get())),
            open_limit: new.rules.open_limit.map(|l| rule_int(l.get())),
            time_zone: new.rules.time_zone.map(|zone| zone.name().to_owned()),
            schedule: new.rules.schedule.as_ref().map(schedule_text),
            leave: new.rules.leave.as_deref().map(leave_text),
            // The queue key of a newcomer is the stamp too (the back of the queue).
            queue_key: Some(now.timestamp_micros()),
            deleted_at: None,
            assignments_day: None,
            assignments_on_day: 0,
            open_protocols: 0,
        };
        write_transaction!(self, |conn| {
            let stored = diesel::insert_into(consultores::table)
                .values(&row)
                .returning(ConsultantRow::as_returning())
                .get_result(conn)?;
            diesel::insert_into(consultor_idiomas::table)
                .values(language_rows(stored.id, &new.languages))
                .execute(conn)?;
            let languages = conn.languages_of(&[stored.id])?;
            let changes = audit_created(stored.audit_values(&codes(&languages)));
            conn.insert_audit(&NewAuditRow::new(
                actor,
                AuditAction::ConsultantCreated,
                stored.id,
                now,
                &changes,
            )?)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            single(consultants_with_languages(
                vec![stored],
                languages,
                self.default_time_zone(),
            )?)
        })
    }

    fn get_consultant(&self, id: ConsultantId) -> Result<Option<Consultant>, StoreError> {
        with_connection!(self, |conn| {
            let row = consultores::table
                .filter(consultores::id.eq(id.0))
                .filter(consultores::removido_em.is_null())
                .select(ConsultantRow::as_select())
                .first(conn)
                .optional()?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let languages = conn.languages_of(&[row.id])?;
                    single(consultants_with_languages(
                        vec![row],
                        languages,
                        self.default_time_zone(),
                    )?)
                    .map(Some)
                }
            }
        })
    }

    /// The consultants of `filter` by id, those above `after`, at most `limit`.
    fn list_consultants(
        &self,
        filter: &ConsultantFilter,
        after: Option<ConsultantId>,
        limit: Option<usize>,
    ) -> Result<Vec<Consultant>, StoreError> {
        let ConsultantFilter {
            language,
            online,
            active,
        } = filter;
        let unfiltered = language.is_none() && online.is_none() && active.is_none();
        let limit = limit.map_or(i64::MAX, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        with_connection!(self, |conn| {
            let rows: Vec<ConsultantRow> = if unfiltered {
                // The common listing in statements of fixed types, which Diesel keeps prepared
                // by type (a boxed query is looked up by its SQL text, built on every call).
                let all = consultores::table
                    .filter(consultores::removido_em.is_null())
                    .select(ConsultantRow::as_select())
                    .order(consultores::id.asc())
                    .limit(limit);
                match after {
                    None => all.load(conn)?,
                    Some(after) => all.filter(consultores::id.gt(after.0)).load(conn)?,
                }
            } else {
                let mut query = consultores::table
                    .filter(consultores::removido_em.is_null())
                    .select(ConsultantRow::as_select())
                    .order(consultores::id.asc())
                    .limit(limit)
                    .into_boxed();
                if let Some(after) = after {
                    query = query.filter(consultores::id.gt(after.0));
                }
                if let Some(language) = language {
                    query = query.filter(exists(
                        consultor_idiomas::table
                            .filter(consultor_idiomas::consultor_id.eq(consultores::id))
                            .filter(consultor_idiomas::idioma.eq(language.as_str().to_owned())),
                    ));
                }
                if let Some(online) = *online {
                    query = query.filter(consultores::status_online.eq(online));
                }
                if let Some(active) = *active {
                    query = query.filter(consultores::status_ativo.eq(active));
                }
                query.load(conn)?
            };
            // One more query for every list's languages (no query per consultant).
            let mut languages: Vec<LanguageRow> = match (rows.first(), rows.last()) {
                (Some(first), Some(last)) if unfiltered => {
                    // Every live consultant from the first id to the last is in the list: the
                    // rows of that range of ids are theirs, and those of deleted ones, which
                    // the join leaves out. Two bound values (an `IN` list of one per id is
                    // prepared again on every call on SQLite) and no sort by the database.
                    consultor_idiomas::table
                        .filter(consultor_idiomas::consultor_id.between(first.id, last.id))
                        .select(LanguageRow::as_select())
                        .load(conn)?
                }
                (Some(_), Some(_)) => {
                    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                    conn.languages_of(&ids)?
                }
                _ => Vec::new(),
            };
            // Rows come back in storage order, which is already this order when each
            // consultant's languages were written together.
            if !languages.is_sorted_by_key(|row| (row.consultant_id, row.position)) {
                languages.sort_unstable_by_key(|row| (row.consultant_id, row.position));
            }
            Ok(self
                .unreadable()
                .keep_readable(each_consultant_with_languages(
                    rows,
                    languages,
                    self.default_time_zone(),
                )))
        })
    }

    /// Locks the consultant, compares the patch with what is stored, and writes (the row, the
    /// languages, one audit entry) only if a stored value changes.
    fn update_consultant(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Consultant>, StoreError> {
        let changes = ConsultantChanges {
            name: patch.name.as_ref().map(|name| name.as_str()),
            email: patch
                .email
                .as_ref()
                .map(|email| email.as_ref().map(|email| email.as_str())),
            phone: patch
                .phone
                .as_ref()
                .map(|phone| phone.as_ref().map(|phone| phone.as_str())),
            active: patch.active,
            in_rotation: patch.in_rotation,
            online: patch.online,
            pipedrive_user_id: patch.pipedrive_user_id.map(|id| id.map(|id| id.get())),
            weight: patch.weight.map(|w| rule_int(w.get())),
            daily_limit: patch.daily_limit.map(|l| l.map(|l| rule_int(l.get()))),
            open_limit: patch.open_limit.map(|l| l.map(|l| rule_int(l.get()))),
            time_zone: patch.time_zone.map(|zone| zone.map(Zone::name)),
            schedule: patch
                .schedule
                .as_ref()
                .map(|schedule| schedule.as_ref().map(schedule_text)),
            leave: patch
                .leave
                .as_ref()
                .map(|leave| leave.as_deref().map(leave_text)),
        };
        let new_languages: Option<Vec<String>> = patch
            .languages
            .as_ref()
            .map(|languages| languages.iter().map(|l| l.as_str().to_owned()).collect());
        write_transaction!(self, |conn| {
            let Some(before) = conn.lock_live_consultant(id.0)? else {
                return Ok(None);
            };
            let before_languages = conn.languages_of(&[before.id])?;
            let before_codes = codes(&before_languages);
            let after_codes = new_languages
                .clone()
                .unwrap_or_else(|| before_codes.clone());
            let planned = audit_diff(
                before.audit_values(&before_codes),
                changes.applied_to(&before).audit_values(&after_codes),
            );
            if planned.is_empty() {
                // Nothing to change: no write, no audit entry.
                return single(consultants_with_languages(
                    vec![before],
                    before_languages,
                    self.default_time_zone(),
                )?)
                .map(Some);
            }
            let after = if changes.is_empty() {
                before.clone()
            } else {
                diesel::update(consultores::table.find(before.id))
                    .set(&changes)
                    .returning(ConsultantRow::as_returning())
                    .get_result(conn)?
            };
            if after_codes != before_codes {
                if let Some(languages) = &patch.languages {
                    conn.replace_languages(after.id, &language_rows(after.id, languages))?;
                }
            }
            let after_languages = conn.languages_of(&[after.id])?;
            let recorded = audit_diff(
                before.audit_values(&before_codes),
                after.audit_values(&codes(&after_languages)),
            );
            conn.insert_audit(&NewAuditRow::new(
                actor,
                update_action(&recorded),
                after.id,
                now,
                &recorded,
            )?)?;
            if update_action(&recorded) == AuditAction::ConsultantConnection {
                let data = serde_json::json!({"consultor": consultant_data(&after)});
                conn.queue_event(WebhookEvent::ConsultantConnection, now, data)?;
            }
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            single(consultants_with_languages(
                vec![after],
                after_languages,
                self.default_time_zone(),
            )?)
            .map(Some)
        })
    }

    fn soft_delete_consultant(
        &self,
        id: ConsultantId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        write_transaction!(self, |conn| {
            let deleted = diesel::update(
                consultores::table
                    .filter(consultores::id.eq(id.0))
                    .filter(consultores::removido_em.is_null()),
            )
            .set(consultores::removido_em.eq(Some(Timestamp(now))))
            .execute(conn)?;
            if deleted != 1 {
                return Ok(false);
            }
            conn.insert_audit(&NewAuditRow::stamped(
                actor,
                AuditAction::ConsultantRemoved,
                id.0,
                "removido_em",
                now,
            )?)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(true)
        })
    }
}

/// A rule value as stored: every rule's bounds fit an `INTEGER` column.
fn rule_int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The language codes of language rows, in order.
fn codes(rows: &[LanguageRow]) -> Vec<String> {
    rows.iter().map(|row| row.language.clone()).collect()
}

/// A change of `status_online` is a connection switch, whatever else changes with it (so the
/// connection history finds it by action); anything else is an update.
fn update_action(changes: &AuditChanges) -> AuditAction {
    if changes.get("status_online").is_some() {
        AuditAction::ConsultantConnection
    } else {
        AuditAction::ConsultantUpdated
    }
}

fn single(mut consultants: Vec<Consultant>) -> Result<Consultant, StoreError> {
    consultants
        .pop()
        .ok_or_else(|| StoreError::internal("a stored consultant vanished while being read"))
}

impl ConsultantRepository for Database {
    fn create(
        &self,
        new: &NewConsultant,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Consultant, DomainError> {
        self.create_consultant(new, now, actor)
            .map_err(|error| error.email_conflict().into())
    }

    fn get(&self, id: ConsultantId) -> Result<Option<Consultant>, DomainError> {
        Ok(self.get_consultant(id)?)
    }

    fn list(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, DomainError> {
        Ok(self.list_consultants(filter, None, None)?)
    }

    fn list_after(
        &self,
        filter: &ConsultantFilter,
        after: Option<ConsultantId>,
        limit: usize,
    ) -> Result<Vec<Consultant>, DomainError> {
        Ok(self.list_consultants(filter, after, Some(limit))?)
    }

    fn update(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Consultant>, DomainError> {
        self.update_consultant(id, patch, now, actor)
            .map_err(|error| error.email_conflict().into())
    }

    fn soft_delete(
        &self,
        id: ConsultantId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, DomainError> {
        Ok(self.soft_delete_consultant(id, now, actor)?)
    }
}
