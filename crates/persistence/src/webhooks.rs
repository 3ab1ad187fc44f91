//! [`WebhookStore`] on both backends, and [`WebhookOutbox::queue_event`], which every change
//! that an event reports calls inside its own transaction (the PostgreSQL assignment writes its
//! deliveries inside `consultores_atribuir` instead: migration `2026-07-01-000002_webhooks`).
//!
//! Claiming works as for `crm_outbox` (see `crm_outbox.rs`): `FOR UPDATE SKIP LOCKED` in a short
//! transaction that sets a lease on PostgreSQL, `BEGIN IMMEDIATE` on SQLite; the network call
//! happens outside any transaction.

use chrono::{DateTime, Utc};
use consultores_domain::{
    audit_timestamp, Actor, AuditAction, AuditChanges, AuditValue, Delivery, DeliveryId,
    DeliveryOutcome, DeliveryRecord, DeliveryStatus, DomainError, NewWebhook, Webhook,
    WebhookEvent, WebhookId, WebhookSecret, WebhookStore,
};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use serde_json::{json, Value};

use crate::audit::NewAuditRow;
use crate::database::{with_connection, write_transaction, Database};
use crate::error::StoreError;
use crate::models::{ConsultantRow, ProtocolRow};
use crate::queries::{due_and_unleased, Queries};
use crate::schema::{webhook_entregas as entregas, webhooks};
use crate::sql_types::Timestamp;

/// The longest error text kept with a delivery.
const MAX_ERROR_CHARS: usize = 1_000;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    id: i64,
    url: String,
    #[diesel(column_name = eventos)]
    events: String,
    #[diesel(column_name = descricao)]
    description: Option<String>,
    #[diesel(column_name = ativo)]
    active: bool,
    created_at: Timestamp,
}

fn events_of(stored: &str) -> Result<Vec<WebhookEvent>, StoreError> {
    stored
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| {
            name.parse()
                .map_err(|_| StoreError::internal(format!("stored webhook event {name:?}")))
        })
        .collect()
}

impl WebhookRow {
    fn into_domain(self) -> Result<Webhook, StoreError> {
        Ok(Webhook {
            id: WebhookId(self.id),
            url: self.url,
            events: events_of(&self.events)?,
            description: self.description,
            active: self.active,
            created_at: self.created_at.0,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = entregas)]
struct RecordRow {
    id: i64,
    #[diesel(column_name = evento)]
    event: String,
    #[diesel(column_name = estado)]
    state: String,
    #[diesel(column_name = tentativas)]
    attempts: i32,
    #[diesel(column_name = ultimo_status)]
    last_status: Option<i32>,
    #[diesel(column_name = ultimo_erro)]
    last_error: Option<String>,
    #[diesel(column_name = proxima_tentativa)]
    next_attempt: Timestamp,
    created_at: Timestamp,
}

impl RecordRow {
    fn into_domain(self) -> Result<DeliveryRecord, StoreError> {
        let broken = |what: &str| StoreError::internal(format!("delivery {}: {what}", self.id));
        let status: DeliveryStatus = self.state.parse().map_err(|_| broken("estado"))?;
        Ok(DeliveryRecord {
            id: DeliveryId(self.id),
            event: self.event.parse().map_err(|_| broken("evento"))?,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            next_attempt: (status == DeliveryStatus::Pending).then_some(self.next_attempt.0),
            created_at: self.created_at.0,
        })
    }
}

/// The body of a delivery: `{"type", "timestamp", "data"}`.
pub(crate) fn message(event: WebhookEvent, at: DateTime<Utc>, data: Value) -> String {
    json!({"type": event.as_str(), "timestamp": audit_timestamp(&at), "data": data}).to_string()
}

/// A protocol in event data (the fields of the API's protocol object).
pub(crate) fn protocol_data(row: &ProtocolRow) -> Value {
    json!({
        "id": row.id,
        "numero": row.number,
        "consultor_id": row.consultant_id,
        "idioma": row.language,
        "descricao": row.description,
        "prioridade": row.priority,
        "status": row.status,
        "created_at": audit_timestamp(&row.created_at.0),
        "updated_at": audit_timestamp(&row.updated_at.0),
    })
}

/// A consultant in event data.
pub(crate) fn consultant_data(row: &ConsultantRow) -> Value {
    json!({
        "id": row.id,
        "nome": row.name,
        "email": row.email,
        "telefone": row.phone,
        "status_online": row.online,
    })
}

/// The data of an `atribuicao` event (the PostgreSQL function builds the same object).
pub(crate) fn assignment_data(
    origin: &str,
    protocol: &ProtocolRow,
    consultant: &ConsultantRow,
) -> Value {
    json!({
        "origem": origin,
        "protocolo": protocol_data(protocol),
        "consultor": consultant_data(consultant),
    })
}

/// Queueing deliveries inside the caller's transaction, one body for both backends.
pub(crate) trait WebhookOutbox {
    /// One pending delivery of `data` per active subscription to `event`, due at `at`.
    fn queue_event(
        &mut self,
        event: WebhookEvent,
        at: DateTime<Utc>,
        data: Value,
    ) -> Result<(), StoreError> {
        self.queue_event_with(event, at, || data)
    }

    /// [`WebhookOutbox::queue_event`], with the data built only when someone subscribes.
    fn queue_event_with(
        &mut self,
        event: WebhookEvent,
        at: DateTime<Utc>,
        data: impl FnOnce() -> Value,
    ) -> Result<(), StoreError>;
}

/// Claimable deliveries differ per backend (row locks on PostgreSQL only).
trait ClaimDeliveries {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>, StoreError>;
}

macro_rules! claimable_deliveries {
    ($now:expr, $limit:expr) => {
        due_and_unleased!(entregas, DeliveryStatus::Pending.as_str(), $now, $limit)
            .select(entregas::id)
    };
}

impl ClaimDeliveries for PgConnection {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>, StoreError> {
        Ok(claimable_deliveries!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)?)
    }
}

impl ClaimDeliveries for SqliteConnection {
    fn claimable(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>, StoreError> {
        Ok(claimable_deliveries!(now, limit).load(self)?)
    }
}

macro_rules! impl_webhook_outbox {
    ($($conn:ty),+) => {$(
        impl WebhookOutbox for $conn {
            fn queue_event_with(
                &mut self,
                event: WebhookEvent,
                at: DateTime<Utc>,
                data: impl FnOnce() -> Value,
            ) -> Result<(), StoreError> {
                let subscribed: Vec<i64> = webhooks::table
                    .filter(webhooks::ativo)
                    .select((webhooks::id, webhooks::eventos))
                    .load::<(i64, String)>(self)?
                    .into_iter()
                    .filter(|(_, events)| events.split(',').any(|name| name == event.as_str()))
                    .map(|(id, _)| id)
                    .collect();
                if subscribed.is_empty() {
                    return Ok(());
                }
                let body = message(event, at, data());
                for id in subscribed {
                    diesel::insert_into(entregas::table)
                        .values((
                            entregas::webhook_id.eq(id),
                            entregas::evento.eq(event.as_str()),
                            entregas::corpo.eq(&body),
                            entregas::estado.eq(DeliveryStatus::Pending.as_str()),
                            entregas::tentativas.eq(0),
                            entregas::proxima_tentativa.eq(Timestamp(at)),
                            entregas::created_at.eq(Timestamp(at)),
                            entregas::updated_at.eq(Timestamp(at)),
                        ))
                        .execute(self)?;
                }
                Ok(())
            }
        }
    )+};
}

impl_webhook_outbox!(PgConnection, SqliteConnection);

fn clip(text: &str) -> &str {
    crate::audit::prefix(text, MAX_ERROR_CHARS)
}

impl Database {
    fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        type Claimed = (i64, String, String, String, String, i32, Timestamp);
        let rows: Vec<Claimed> = write_transaction!(self, |conn| {
            let ids = conn.claimable(now, limit)?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update(entregas::table.filter(entregas::id.eq_any(&ids)))
                .set((
                    entregas::bloqueado_ate.eq(Some(Timestamp(lease_until))),
                    entregas::updated_at.eq(Timestamp(now)),
                ))
                .execute(conn)?;
            Ok(entregas::table
                .inner_join(webhooks::table)
                .filter(entregas::id.eq_any(&ids))
                .order(entregas::id.asc())
                .select((
                    entregas::id,
                    webhooks::url,
                    webhooks::segredo,
                    entregas::evento,
                    entregas::corpo,
                    entregas::tentativas,
                    entregas::created_at,
                ))
                .load(conn)?)
        })?;
        rows.into_iter()
            .map(|(id, url, secret, event, body, attempts, created_at)| {
                Ok(Delivery {
                    id: DeliveryId(id),
                    url,
                    secret: WebhookSecret::new(secret),
                    event: event.parse().map_err(|_| {
                        StoreError::internal(format!("delivery {id}: stored evento {event:?}"))
                    })?,
                    body,
                    attempts: u32::try_from(attempts).unwrap_or_default(),
                    created_at: created_at.0,
                })
            })
            .collect()
    }

    fn settle(
        &self,
        id: DeliveryId,
        attempts: u32,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, status, error, next) = match outcome {
            DeliveryOutcome::Delivered { status } => {
                (DeliveryStatus::Delivered.as_str(), Some(*status), None, now)
            }
            DeliveryOutcome::Retry { status, error, at } => (
                DeliveryStatus::Pending.as_str(),
                *status,
                Some(clip(error)),
                *at,
            ),
            DeliveryOutcome::Failed { status, error } => (
                DeliveryStatus::Failed.as_str(),
                *status,
                Some(clip(error)),
                now,
            ),
        };
        write_transaction!(self, |conn| {
            diesel::update(
                entregas::table
                    .filter(entregas::id.eq(id.0))
                    .filter(entregas::estado.eq(DeliveryStatus::Pending.as_str())),
            )
            .set((
                entregas::estado.eq(state),
                entregas::tentativas.eq(i32::try_from(attempts).unwrap_or(i32::MAX)),
                entregas::ultimo_status.eq(status.map(i32::from)),
                entregas::ultimo_erro.eq(error),
                entregas::proxima_tentativa.eq(Timestamp(next)),
                entregas::bloqueado_ate.eq(None::<Timestamp>),
                entregas::updated_at.eq(Timestamp(now)),
            ))
            .execute(conn)?;
            Ok(())
        })
    }
}

impl WebhookStore for Database {
    fn create_webhook(
        &self,
        new: &NewWebhook,
        secret: &WebhookSecret,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Webhook, DomainError> {
        let events: Vec<&str> = new.events.iter().map(|event| event.as_str()).collect();
        let create = || -> Result<Webhook, StoreError> {
            write_transaction!(self, |conn| {
                let webhook = diesel::insert_into(webhooks::table)
                    .values((
                        webhooks::url.eq(&new.url),
                        webhooks::eventos.eq(events.join(",")),
                        webhooks::descricao.eq(new.description.as_deref()),
                        webhooks::segredo.eq(secret.expose()),
                        webhooks::ativo.eq(true),
                        webhooks::created_at.eq(Timestamp(now)),
                    ))
                    .returning(WebhookRow::as_returning())
                    .get_result(conn)?
                    .into_domain()?;
                let mut changes = AuditChanges::new();
                changes
                    .created("url", webhook.url.as_str())
                    .created(
                        "eventos",
                        AuditValue::List(events.iter().map(|e| (*e).to_owned()).collect()),
                    )
                    .created(
                        "descricao",
                        AuditValue::optional(webhook.description.clone()),
                    );
                conn.insert_audit(&NewAuditRow::new(
                    actor,
                    AuditAction::WebhookCreated,
                    webhook.id.0,
                    now,
                    &changes,
                )?)?;
                Ok(webhook)
            })
        };
        Ok(create()?)
    }

    fn list_webhooks(&self) -> Result<Vec<Webhook>, DomainError> {
        let list = || -> Result<Vec<Webhook>, StoreError> {
            with_connection!(self, |conn| {
                webhooks::table
                    .filter(webhooks::removido_em.is_null())
                    .order(webhooks::id.asc())
                    .select(WebhookRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(WebhookRow::into_domain)
                    .collect()
            })
        };
        Ok(list()?)
    }

    fn remove_webhook(
        &self,
        id: WebhookId,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, DomainError> {
        let remove = || -> Result<bool, StoreError> {
            write_transaction!(self, |conn| {
                let removed = diesel::update(
                    webhooks::table
                        .filter(webhooks::id.eq(id.0))
                        .filter(webhooks::removido_em.is_null()),
                )
                .set((
                    webhooks::ativo.eq(false),
                    webhooks::removido_em.eq(Some(Timestamp(now))),
                ))
                .execute(conn)?;
                diesel::update(
                    entregas::table
                        .filter(entregas::webhook_id.eq(id.0))
                        .filter(entregas::estado.eq(DeliveryStatus::Pending.as_str())),
                )
                .set((
                    entregas::estado.eq(DeliveryStatus::Failed.as_str()),
                    entregas::ultimo_erro.eq(Some("webhook removido")),
                    entregas::bloqueado_ate.eq(None::<Timestamp>),
                    entregas::updated_at.eq(Timestamp(now)),
                ))
                .execute(conn)?;
                if removed == 1 {
                    conn.insert_audit(&NewAuditRow::stamped(
                        actor,
                        AuditAction::WebhookRemoved,
                        id.0,
                        "removido_em",
                        now,
                    )?)?;
                }
                Ok(removed == 1)
            })
        };
        Ok(remove()?)
    }

    fn deliveries(
        &self,
        id: WebhookId,
        limit: u32,
    ) -> Result<Option<Vec<DeliveryRecord>>, DomainError> {
        let load = || -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
            with_connection!(self, |conn| {
                let exists = webhooks::table
                    .filter(webhooks::id.eq(id.0))
                    .filter(webhooks::removido_em.is_null())
                    .select(webhooks::id)
                    .first::<i64>(conn)
                    .optional()?;
                if exists.is_none() {
                    Ok(None)
                } else {
                    entregas::table
                        .filter(entregas::webhook_id.eq(id.0))
                        .order(entregas::id.desc())
                        .limit(i64::from(limit))
                        .select(RecordRow::as_select())
                        .load(conn)?
                        .into_iter()
                        .map(RecordRow::into_domain)
                        .collect::<Result<Vec<_>, _>>()
                        .map(Some)
                }
            })
        };
        Ok(load()?)
    }

    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, DomainError> {
        Ok(self.claim(now, lease_until, limit)?)
    }

    fn settle_delivery(
        &self,
        id: DeliveryId,
        attempts: u32,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        Ok(self.settle(id, attempts, outcome, now)?)
    }
}
