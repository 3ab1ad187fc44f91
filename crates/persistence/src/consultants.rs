//! [`ConsultantRepository`] on both backends.

use chrono::{DateTime, Utc};
use consultores_domain::{
    Consultant, ConsultantFilter, ConsultantId, ConsultantPatch, ConsultantRepository, DomainError,
    NewConsultant,
};
use diesel::dsl::exists;
use diesel::prelude::*;

use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::models::{
    consultants_with_languages, language_rows, ConsultantChanges, ConsultantRow, NewConsultantRow,
};
use crate::queries::Queries;
use crate::schema::{consultor_idiomas, consultores};
use crate::sql_types::Timestamp;

impl Database {
    fn create_consultant(
        &self,
        new: &NewConsultant,
        now: DateTime<Utc>,
    ) -> Result<Consultant, StoreError> {
        let row = NewConsultantRow {
            nome: new.name.as_str(),
            email: new.email.as_ref().map(|email| email.as_str()),
            telefone: new.phone.as_ref().map(|phone| phone.as_str()),
            status_ativo: new.active,
            status_ativo_sequencial: new.in_rotation,
            status_online: new.online,
            // Newcomers join the back of the queue, as in v6.
            ultimo_atendimento: Some(Timestamp(now)),
            id_pipedrive: new.pipedrive_user_id.map(|id| id.get()),
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
            single(consultants_with_languages(vec![stored], languages)?)
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
                    single(consultants_with_languages(vec![row], languages)?).map(Some)
                }
            }
        })
    }

    fn list_consultants(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, StoreError> {
        with_connection!(self, |conn| {
            let mut query = consultores::table
                .filter(consultores::removido_em.is_null())
                .select(ConsultantRow::as_select())
                .order(consultores::id.asc())
                .into_boxed();
            if let Some(language) = &filter.language {
                query = query.filter(exists(
                    consultor_idiomas::table
                        .filter(consultor_idiomas::consultor_id.eq(consultores::id))
                        .filter(consultor_idiomas::idioma.eq(language.as_str().to_owned())),
                ));
            }
            if let Some(online) = filter.online {
                query = query.filter(consultores::status_online.eq(online));
            }
            if let Some(active) = filter.active {
                query = query.filter(consultores::status_ativo.eq(active));
            }
            let rows: Vec<ConsultantRow> = query.load(conn)?;
            // One more query for every list's languages (no query per consultant).
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            let languages = conn.languages_of(&ids)?;
            consultants_with_languages(rows, languages)
        })
    }

    fn update_consultant(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
    ) -> Result<Option<Consultant>, StoreError> {
        let changes = ConsultantChanges {
            nome: patch.name.as_ref().map(|name| name.as_str()),
            email: patch
                .email
                .as_ref()
                .map(|email| email.as_ref().map(|email| email.as_str())),
            telefone: patch
                .phone
                .as_ref()
                .map(|phone| phone.as_ref().map(|phone| phone.as_str())),
            status_ativo: patch.active,
            status_ativo_sequencial: patch.in_rotation,
            status_online: patch.online,
            id_pipedrive: patch.pipedrive_user_id.map(|id| id.map(|id| id.get())),
        };
        write_transaction!(self, |conn| {
            let target = consultores::table
                .filter(consultores::id.eq(id.0))
                .filter(consultores::removido_em.is_null());
            let row = if changes.is_empty() {
                // Only the languages change: a no-op update still locks the row (PostgreSQL),
                // so concurrent patches of one consultant apply one after the other.
                diesel::update(target)
                    .set(consultores::id.eq(consultores::id))
                    .returning(ConsultantRow::as_returning())
                    .get_result(conn)
                    .optional()?
            } else {
                diesel::update(target)
                    .set(&changes)
                    .returning(ConsultantRow::as_returning())
                    .get_result(conn)
                    .optional()?
            };
            let Some(row) = row else {
                return Ok(None);
            };
            if let Some(languages) = &patch.languages {
                diesel::delete(
                    consultor_idiomas::table.filter(consultor_idiomas::consultor_id.eq(row.id)),
                )
                .execute(conn)?;
                diesel::insert_into(consultor_idiomas::table)
                    .values(language_rows(row.id, languages))
                    .execute(conn)?;
            }
            let languages = conn.languages_of(&[row.id])?;
            single(consultants_with_languages(vec![row], languages)?).map(Some)
        })
    }

    fn soft_delete_consultant(
        &self,
        id: ConsultantId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        write_transaction!(self, |conn| {
            let deleted = diesel::update(
                consultores::table
                    .filter(consultores::id.eq(id.0))
                    .filter(consultores::removido_em.is_null()),
            )
            .set(consultores::removido_em.eq(Some(Timestamp(now))))
            .execute(conn)?;
            Ok(deleted == 1)
        })
    }
}

fn single(mut consultants: Vec<Consultant>) -> Result<Consultant, StoreError> {
    consultants
        .pop()
        .ok_or_else(|| StoreError::internal("a stored consultant vanished while being read"))
}

impl ConsultantRepository for Database {
    fn create(&self, new: &NewConsultant, now: DateTime<Utc>) -> Result<Consultant, DomainError> {
        self.create_consultant(new, now)
            .map_err(|error| error.email_conflict().into())
    }

    fn get(&self, id: ConsultantId) -> Result<Option<Consultant>, DomainError> {
        Ok(self.get_consultant(id)?)
    }

    fn list(&self, filter: &ConsultantFilter) -> Result<Vec<Consultant>, DomainError> {
        Ok(self.list_consultants(filter)?)
    }

    fn update(
        &self,
        id: ConsultantId,
        patch: &ConsultantPatch,
    ) -> Result<Option<Consultant>, DomainError> {
        self.update_consultant(id, patch)
            .map_err(|error| error.email_conflict().into())
    }

    fn soft_delete(&self, id: ConsultantId, now: DateTime<Utc>) -> Result<bool, DomainError> {
        Ok(self.soft_delete_consultant(id, now)?)
    }
}
