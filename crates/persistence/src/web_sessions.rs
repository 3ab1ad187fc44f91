//! [`WebSessionStore`] on both backends: `painel_sessoes`, keyed by the token's hash.

use chrono::{DateTime, Duration, Utc};
use consultores_domain::{
    ApiKeyId, ApiKeyScope, DomainError, WebSession, WebSessionStore, WebSessionToken,
};
use diesel::prelude::*;

use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::schema::{api_keys, painel_sessoes};
use crate::sql_types::Timestamp;

#[derive(Debug, Queryable)]
struct SessionRow {
    key_id: Option<i64>,
    key_description: Option<String>,
    scope: String,
    csrf: String,
}

impl SessionRow {
    fn into_domain(self) -> Result<WebSession, StoreError> {
        let scope: ApiKeyScope = self
            .scope
            .parse()
            .map_err(|_| DomainError::internal(format!("unknown scope {:?}", self.scope)))?;
        Ok(WebSession {
            api_key_id: self.key_id.map(ApiKeyId),
            key_description: self.key_description,
            scope,
            csrf_token: self.csrf,
        })
    }
}

impl Database {
    fn create_session(
        &self,
        token: &WebSessionToken,
        session: &WebSession,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<(), StoreError> {
        write_transaction!(self, |conn| {
            diesel::delete(
                painel_sessoes::table.filter(painel_sessoes::usado_em.lt(Timestamp(now - idle))),
            )
            .execute(conn)?;
            diesel::insert_into(painel_sessoes::table)
                .values((
                    painel_sessoes::token_hash.eq(&token.0),
                    painel_sessoes::chave_id.eq(session.api_key_id.map(|id| id.0)),
                    painel_sessoes::chave_descricao.eq(session.key_description.as_deref()),
                    painel_sessoes::escopo.eq(session.scope.as_str()),
                    painel_sessoes::csrf.eq(&session.csrf_token),
                    painel_sessoes::criado_em.eq(Timestamp(now)),
                    painel_sessoes::usado_em.eq(Timestamp(now)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// One statement marks the session used, only while it is fresh and its key active, so
    /// the check and the touch cannot disagree; then the row is read.
    fn touch_session(
        &self,
        token: &WebSessionToken,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<WebSession>, StoreError> {
        let live_key = api_keys::table
            .select(api_keys::id)
            .filter(api_keys::is_active.eq(true))
            .filter(api_keys::revoked_at.is_null());
        with_connection!(self, |conn| {
            let touched = diesel::update(
                painel_sessoes::table
                    .filter(painel_sessoes::token_hash.eq(&token.0))
                    .filter(painel_sessoes::usado_em.ge(Timestamp(now - idle)))
                    .filter(
                        painel_sessoes::chave_id
                            .is_null()
                            .or(painel_sessoes::chave_id.eq_any(live_key.nullable())),
                    ),
            )
            .set(painel_sessoes::usado_em.eq(Timestamp(now)))
            .execute(conn)?;
            if touched == 0 {
                Ok(None)
            } else {
                painel_sessoes::table
                    .filter(painel_sessoes::token_hash.eq(&token.0))
                    .select((
                        painel_sessoes::chave_id,
                        painel_sessoes::chave_descricao,
                        painel_sessoes::escopo,
                        painel_sessoes::csrf,
                    ))
                    .first::<SessionRow>(conn)
                    .optional()?
                    .map(SessionRow::into_domain)
                    .transpose()
            }
        })
    }

    fn delete_session(&self, token: &WebSessionToken) -> Result<(), StoreError> {
        with_connection!(self, |conn| {
            diesel::delete(painel_sessoes::table.filter(painel_sessoes::token_hash.eq(&token.0)))
                .execute(conn)?;
            Ok(())
        })
    }
}

impl WebSessionStore for Database {
    fn create(
        &self,
        token: &WebSessionToken,
        session: &WebSession,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<(), DomainError> {
        Ok(self.create_session(token, session, now, idle)?)
    }

    fn touch(
        &self,
        token: &WebSessionToken,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<WebSession>, DomainError> {
        Ok(self.touch_session(token, now, idle)?)
    }

    fn delete(&self, token: &WebSessionToken) -> Result<(), DomainError> {
        Ok(self.delete_session(token)?)
    }
}
