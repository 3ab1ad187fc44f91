//! [`AssignmentPort`]: the rotation's one atomic step (pick the head of the queue, stamp it,
//! number a protocol, open it).
//!
//! # Locking design (PostgreSQL)
//!
//! Gapless numbering already serialises every assignment: each one increments the single counter
//! row, and nobody can take the next number before the previous holder commits or rolls back.
//! So the counter row lock IS the global serialisation point, and everything else is built
//! around it, in one READ COMMITTED transaction:
//!
//! 1. (with an `Idempotency-Key`) claim the key: `INSERT … ON CONFLICT DO NOTHING`. A concurrent
//!    twin waits here, on the key, before it touches the counter.
//! 2. `UPDATE controle_protocolo SET ultimo_numero = ultimo_numero + 1 … RETURNING`: takes the
//!    counter row lock. Every assignment and every protocol creation takes it, and takes it
//!    before any consultant row lock, so the lock order is always key → counter → consultant:
//!    no deadlock is possible.
//! 3. ONE statement, sent after the lock is granted, so that READ COMMITTED gives it a fresh
//!    snapshot that sees every assignment committed before ours: select the queue head
//!    (`ORDER BY ultimo_atendimento NULLS FIRST, id LIMIT 1 FOR UPDATE`; the row lock only makes
//!    a concurrent `PUT /consultor` wait, assignments cannot race here), stamp it, insert the
//!    protocol, write its audit entry (`atribuicao`), return everything the answer needs —
//!    data-modifying CTEs, one round trip. The audit row rides in the same statement so that
//!    auditing adds no round trip while the counter lock is held, and it commits or rolls back
//!    with the assignment it records. With a CRM target (Pipedrive integration on), the
//!    statement is [`ASSIGN_HEAD_WITH_CRM`]: one more CTE writes the outbox items (owner, then
//!    note) when the consultant has an `id_pipedrive`, still in the same single statement, so
//!    the CRM adds no round trip either and its actions exist if and only if the assignment
//!    committed. Without a target the statement is [`ASSIGN_HEAD`], untouched.
//! 4. COMMIT (after storing the idempotent answer, if any).
//!
//! The stamp written in step 3 comes from step 2: `now`, or 1 µs after the previous holder's
//! stamp when that is later. Callers read the clock before queueing for the lock, so their `now`
//! values arrive out of order under a burst; stamps taken under the lock strictly increase in
//! commit order, which is what keeps the queue fair (each of K consultants gets exactly n of
//! K×n calls) across threads and replicas with skewed clocks.
//!
//! No `SKIP LOCKED`: it exists to let concurrent pickers take different rows (which is why the
//! outbox worker does use it, on its independent items: see `crm_outbox.rs`), but here the
//! pickers are already serialised, and under a burst it would skip rows locked by transactions
//! about to commit, answering "nobody available" while consultants are free and breaking queue
//! order (v6's bug). No table lock, no DDL at request time. The counter lock is held for
//! statement 3 and COMMIT only (plus storing the idempotent answer when there is a key): that
//! bounds the throughput of the whole rotation, across all replicas, to one such
//! round-trip sequence at a time. Nobody eligible: the transaction rolls back, so the number
//! taken in step 2 is not consumed (gapless).
//!
//! # SQLite
//!
//! SQLite has no DML in CTEs and only one writer at a time anyway: the same steps run as
//! separate statements inside `BEGIN IMMEDIATE`, which takes the database's write lock up front
//! (serialising assignments, as the counter row lock does on PostgreSQL), while the process-wide
//! writer mutex queues this process's writers in order. The audit entry is one more INSERT in
//! that transaction, and so are the outbox items when there is a CRM target.
//!
//! # The audit entry
//!
//! Recorded on the consultant chosen (`entidade = 'consultor'`, so a consultant's assignments are
//! one index range), at the stamp, with `ultimo_atendimento` before and after and the protocol
//! opened (`protocolo_id`, `numero_protocolo`, `idioma`, whose `antes` is null). Both backends
//! write the same fields; PostgreSQL builds the JSON in SQL (`jsonb`'s text form), SQLite with
//! serde.

use chrono::{DateTime, Utc};
use consultores_domain::{
    assignment_note, Actor, Assignment, AssignmentPort, AuditAction, AuditChanges, AuditValue,
    CrmTarget, DomainError, IdempotencyClaim, Language, PipedriveUserId, Priority, ProtocolStatus,
    Recorded, ASSIGNMENT_NOTE_TEMPLATE,
};
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::audit::NewAuditRow;
use crate::crm_outbox::{fresh_statuses, insert_assignment_actions};
use crate::database::{Database, Pools};
use crate::error::StoreError;
use crate::faults::FaultPoint;
use crate::idempotency::{record, replay};
use crate::models::{consultants_with_languages, ConsultantRow, NewProtocolRow, ProtocolRow};
use crate::queries::{CounterQuery, Queries};
use crate::schema::{consultor_idiomas, consultores, protocolos};
use crate::sql_types::{Timestamp, UtcTimestamp};

/// The text of step 3, with room for the CRM outbox: `$crm_cte` is appended to the CTEs and
/// `$crm_columns` to the selected columns (both empty for [`ASSIGN_HEAD`]).
macro_rules! assign_head_statement {
    ($crm_cte:literal, $crm_columns:literal) => {
        concat!(
            "\
WITH head AS (
    SELECT c.id, c.ultimo_atendimento
    FROM consultores c
    WHERE c.removido_em IS NULL AND c.status_ativo AND c.status_ativo_sequencial AND c.status_online
      AND EXISTS (SELECT 1 FROM consultor_idiomas ci WHERE ci.consultor_id = c.id AND ci.idioma = $1)
    ORDER BY c.ultimo_atendimento ASC NULLS FIRST, c.id ASC
    LIMIT 1
    FOR UPDATE OF c
), stamped AS (
    UPDATE consultores c SET ultimo_atendimento = $2
    FROM head
    WHERE c.id = head.id
    RETURNING c.id, c.nome, c.email, c.telefone, c.status_ativo, c.status_ativo_sequencial,
              c.status_online, c.ultimo_atendimento, c.id_pipedrive
), opened AS (
    INSERT INTO protocolos (numero, consultor_id, idioma, prioridade, status, created_at, updated_at)
    SELECT $3, stamped.id, $1, 'normal', 'aberto', $2, $2 FROM stamped
    RETURNING id, numero, consultor_id, idioma, descricao, prioridade, status, created_at, updated_at
), audited AS (
    INSERT INTO auditoria (em, chave_id, chave_descricao, request_id, acao, entidade, entidade_id, alteracoes)
    SELECT $2, $4, $5, $6, $7, $8, h.id, jsonb_build_object(
        'ultimo_atendimento', jsonb_build_object(
            'antes', to_char(h.ultimo_atendimento AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'),
            'depois', to_char($2 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')),
        'protocolo_id', jsonb_build_object('antes', NULL, 'depois', o.id),
        'numero_protocolo', jsonb_build_object('antes', NULL, 'depois', o.numero),
        'idioma', jsonb_build_object('antes', NULL, 'depois', o.idioma))::text
    FROM head h CROSS JOIN opened o
)", $crm_cte, "
SELECT s.id AS consultor_id, s.nome, s.email, s.telefone, s.status_ativo,
       s.status_ativo_sequencial, s.status_online, s.ultimo_atendimento, s.id_pipedrive,
       (SELECT string_agg(ci.idioma, ',' ORDER BY ci.posicao)
          FROM consultor_idiomas ci WHERE ci.consultor_id = s.id) AS idiomas,
       o.id AS protocolo_id, o.numero, o.idioma, o.descricao, o.prioridade, o.status,
       o.created_at, o.updated_at", $crm_columns, "
FROM stamped s CROSS JOIN opened o"
        )
    };
}

/// Step 3 on PostgreSQL. `$1` language, `$2` the stamp (see `Queries::take_protocol_number`:
/// `now`, or just after the previous stamp if that is later), `$3` the protocol number; for the
/// audit entry `$4` the key id (or NULL), `$5` its description, `$6` the request id, `$7` the
/// action, `$8` the entity. The eligibility
/// terms repeat the predicate of the partial index `consultores_rotation_idx` word for word, so
/// the planner can walk that index in queue order.
pub(crate) const ASSIGN_HEAD: &str = assign_head_statement!("", "");

/// Step 3 on PostgreSQL with a CRM target: [`ASSIGN_HEAD`] plus the outbox items, when the
/// consultant chosen has an `id_pipedrive`. `$9` the target kind (`deal`, `lead`, `person`),
/// `$10` its id, `$11` the note template ([`consultores_domain::ASSIGNMENT_NOTE_TEMPLATE`],
/// filled in here in the order of [`consultores_domain::assignment_note`]). The items are due at
/// the stamp; `ORDER BY` makes the owner's id (and so its delivery) come first. `crm_itens`
/// counts the items written (2, or 0 for a consultant without `id_pipedrive`).
pub(crate) const ASSIGN_HEAD_WITH_CRM: &str = assign_head_statement!(
    ",
crm AS (
    INSERT INTO crm_outbox (protocolo_id, acao, alvo_tipo, alvo_id, owner_id, conteudo, estado,
                            tentativas, proxima_tentativa, created_at, updated_at)
    SELECT o.id, v.acao, $9, $10,
           CASE WHEN v.acao = 'definir_responsavel' THEN s.id_pipedrive END,
           CASE WHEN v.acao = 'adicionar_nota'
                THEN replace(replace($11, '{numero}', o.numero), '{consultor}', s.nome) END,
           'pendente', 0, $2, $2, $2
    FROM stamped s CROSS JOIN opened o
         CROSS JOIN (VALUES (1, 'definir_responsavel'), (2, 'adicionar_nota')) AS v (ordem, acao)
    WHERE s.id_pipedrive IS NOT NULL
    ORDER BY v.ordem
    RETURNING id
)",
    ",
       (SELECT count(*) FROM crm) AS crm_itens"
);

/// The row of [`ASSIGN_HEAD`].
#[derive(Debug, QueryableByName)]
struct AssignedRow {
    #[diesel(sql_type = BigInt)]
    consultor_id: i64,
    #[diesel(sql_type = Text)]
    nome: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    telefone: Option<String>,
    #[diesel(sql_type = Bool)]
    status_ativo: bool,
    #[diesel(sql_type = Bool)]
    status_ativo_sequencial: bool,
    #[diesel(sql_type = Bool)]
    status_online: bool,
    #[diesel(sql_type = Nullable<UtcTimestamp>)]
    ultimo_atendimento: Option<Timestamp>,
    #[diesel(sql_type = Nullable<BigInt>)]
    id_pipedrive: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    idiomas: Option<String>,
    #[diesel(sql_type = BigInt)]
    protocolo_id: i64,
    #[diesel(sql_type = Text)]
    numero: String,
    #[diesel(sql_type = Nullable<Text>)]
    idioma: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    descricao: Option<String>,
    #[diesel(sql_type = Text)]
    prioridade: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = UtcTimestamp)]
    created_at: Timestamp,
    #[diesel(sql_type = UtcTimestamp)]
    updated_at: Timestamp,
}

impl AssignedRow {
    fn into_domain(self) -> Result<Assignment, StoreError> {
        let languages = self
            .idiomas
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
            .collect();
        let consultant = ConsultantRow {
            id: self.consultor_id,
            nome: self.nome,
            email: self.email,
            telefone: self.telefone,
            status_ativo: self.status_ativo,
            status_ativo_sequencial: self.status_ativo_sequencial,
            status_online: self.status_online,
            ultimo_atendimento: self.ultimo_atendimento,
            id_pipedrive: self.id_pipedrive,
            removido_em: None,
        }
        .into_domain(languages)?;
        let protocol = ProtocolRow {
            id: self.protocolo_id,
            numero: self.numero,
            consultor_id: Some(self.consultor_id),
            idioma: self.idioma,
            descricao: self.descricao,
            prioridade: self.prioridade,
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .into_domain()?;
        Ok(Assignment {
            consultant,
            protocol,
            crm_actions: None,
        })
    }
}

/// The row of [`ASSIGN_HEAD_WITH_CRM`].
#[derive(Debug, QueryableByName)]
struct AssignedWithCrmRow {
    #[diesel(embed)]
    assigned: AssignedRow,
    #[diesel(sql_type = BigInt)]
    crm_itens: i64,
}

impl AssignedWithCrmRow {
    fn into_domain(self, target: &CrmTarget) -> Result<Assignment, StoreError> {
        let mut assignment = self.assigned.into_domain()?;
        assignment.crm_actions = Some(if self.crm_itens > 0 {
            fresh_statuses(target)
        } else {
            Vec::new()
        });
        Ok(assignment)
    }
}

impl Database {
    fn assign_on_postgres(
        &self,
        conn: &mut PgConnection,
        language: &Language,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
        actor: &Actor,
        crm: Option<&CrmTarget>,
    ) -> Result<Recorded<Assignment>, StoreError> {
        let audited =
            NewAuditRow::new(actor, AuditAction::Assignment, 0, now, &AuditChanges::new())?;
        conn.build_transaction().read_committed().run(|conn| {
            if let Some(previous) = replay::<Assignment>(conn, claim, now)? {
                return Ok(Recorded::replayed(previous));
            }
            self.faults().check(FaultPoint::AfterClaim, conn)?;
            // From here to COMMIT every other assignment and protocol creation waits on us.
            let taken = conn.take_protocol_number(now)?;
            self.faults().check(FaultPoint::AfterCounter, conn)?;
            let statement = |sql: &'static str| {
                diesel::sql_query(sql)
                    .bind::<Text, _>(language.as_str())
                    .bind::<UtcTimestamp, _>(Timestamp(taken.stamp))
                    .bind::<Text, _>(taken.number.to_string())
                    .bind::<Nullable<BigInt>, _>(audited.chave_id)
                    .bind::<Text, _>(audited.chave_descricao)
                    .bind::<Text, _>(audited.request_id)
                    .bind::<Text, _>(audited.acao)
                    .bind::<Text, _>(audited.entidade)
            };
            let assigned = match crm {
                None => statement(ASSIGN_HEAD)
                    .get_result::<AssignedRow>(conn)
                    .optional()?
                    .map(AssignedRow::into_domain),
                Some(target) => statement(ASSIGN_HEAD_WITH_CRM)
                    .bind::<Text, _>(target.kind().as_str())
                    .bind::<Text, _>(target.id_text())
                    .bind::<Text, _>(ASSIGNMENT_NOTE_TEMPLATE)
                    .get_result::<AssignedWithCrmRow>(conn)
                    .optional()?
                    .map(|row| row.into_domain(target)),
            };
            let Some(assigned) = assigned else {
                return Err(DomainError::NoneAvailable(language.clone()).into());
            };
            self.faults().check(FaultPoint::AfterWrite, conn)?;
            let assignment = assigned?;
            record(conn, claim, &assignment)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(Recorded::fresh(assignment))
        })
    }

    fn assign_on_sqlite(
        &self,
        conn: &mut SqliteConnection,
        language: &Language,
        now: DateTime<Utc>,
        claim: Option<&IdempotencyClaim>,
        actor: &Actor,
        crm: Option<&CrmTarget>,
    ) -> Result<Recorded<Assignment>, StoreError> {
        conn.immediate_transaction(|conn| {
            if let Some(previous) = replay::<Assignment>(conn, claim, now)? {
                return Ok(Recorded::replayed(previous));
            }
            self.faults().check(FaultPoint::AfterClaim, conn)?;
            let taken = conn.take_protocol_number(now)?;
            self.faults().check(FaultPoint::AfterCounter, conn)?;
            // The same terms as the partial index `consultores_rotation_idx`; SQLite sorts NULLs
            // first in ascending order, which is the policy's "never served goes first".
            let head = consultores::table
                .filter(consultores::removido_em.is_null())
                .filter(consultores::status_ativo)
                .filter(consultores::status_ativo_sequencial)
                .filter(consultores::status_online)
                .filter(exists(
                    consultor_idiomas::table
                        .filter(consultor_idiomas::consultor_id.eq(consultores::id))
                        .filter(consultor_idiomas::idioma.eq(language.as_str())),
                ))
                .order((consultores::ultimo_atendimento.asc(), consultores::id.asc()))
                .select((consultores::id, consultores::ultimo_atendimento))
                .first::<(i64, Option<Timestamp>)>(conn)
                .optional()?;
            let Some((head, served_before)) = head else {
                return Err(DomainError::NoneAvailable(language.clone()).into());
            };
            let stamped = diesel::update(consultores::table.find(head))
                .set(consultores::ultimo_atendimento.eq(Some(Timestamp(taken.stamp))))
                .returning(ConsultantRow::as_returning())
                .get_result(conn)?;
            self.faults().check(FaultPoint::AfterWrite, conn)?;
            let number = taken.number.to_string();
            let opened = diesel::insert_into(protocolos::table)
                .values(NewProtocolRow {
                    numero: &number,
                    consultor_id: Some(head),
                    idioma: Some(language.as_str()),
                    descricao: None,
                    prioridade: Priority::Normal.as_str(),
                    status: ProtocolStatus::Aberto.as_str(),
                    created_at: Timestamp(taken.stamp),
                    updated_at: Timestamp(taken.stamp),
                })
                .returning(ProtocolRow::as_returning())
                .get_result(conn)?;
            let mut changes = AuditChanges::new();
            changes
                .record(
                    "ultimo_atendimento",
                    AuditValue::optional(served_before.map(|t| AuditValue::time(t.0))),
                    AuditValue::time(taken.stamp),
                )
                .created("protocolo_id", opened.id)
                .created("numero_protocolo", opened.numero.as_str())
                .created("idioma", AuditValue::optional(opened.idioma.clone()));
            conn.insert_audit(&NewAuditRow::new(
                actor,
                AuditAction::Assignment,
                head,
                taken.stamp,
                &changes,
            )?)?;
            let crm_actions = match crm {
                None => None,
                Some(target) => Some(match stamped.id_pipedrive {
                    Some(owner) => {
                        let owner = PipedriveUserId::new(owner).map_err(|_| {
                            StoreError::internal(format!(
                                "consultant {head}: stored id_pipedrive {owner} is not positive"
                            ))
                        })?;
                        let note = assignment_note(&taken.number, &stamped.nome);
                        insert_assignment_actions(
                            conn,
                            opened.id,
                            target,
                            owner,
                            &note,
                            taken.stamp,
                        )?
                    }
                    None => Vec::new(),
                }),
            };
            let languages = conn.languages_of(&[head])?;
            let consultant = consultants_with_languages(vec![stamped], languages)?
                .pop()
                .ok_or_else(|| StoreError::internal("the stamped consultant vanished"))?;
            let assignment = Assignment {
                consultant,
                protocol: opened.into_domain()?,
                crm_actions,
            };
            record(conn, claim, &assignment)?;
            self.faults().check(FaultPoint::BeforeCommit, conn)?;
            Ok(Recorded::fresh(assignment))
        })
    }
}

impl AssignmentPort for Database {
    fn assign_next(
        &self,
        language: &Language,
        now: DateTime<Utc>,
        claim: Option<IdempotencyClaim>,
        actor: &Actor,
        crm: Option<CrmTarget>,
    ) -> Result<Recorded<Assignment>, DomainError> {
        let (claim, crm) = (claim.as_ref(), crm.as_ref());
        let result = match self.pools() {
            Pools::Postgres(pool) => pool.get().map_err(StoreError::from).and_then(|mut conn| {
                self.assign_on_postgres(&mut conn, language, now, claim, actor, crm)
            }),
            Pools::Sqlite(pool) => {
                let _writer = self.sqlite_writer();
                pool.get().map_err(StoreError::from).and_then(|mut conn| {
                    self.assign_on_sqlite(&mut conn, language, now, claim, actor, crm)
                })
            }
        };
        Ok(result?)
    }
}
