//! The routing rules on the consultant form (weight, limits, time zone, hours per weekday, days
//! off), parsed with the domain's own types so the page applies the API's rules and messages,
//! and a consultant's availability in Portuguese words.

use consultores_domain::routing::{
    format_time_of_day, parse_date, parse_time_of_day, Availability, Leave, Limit, Unavailability,
    WeeklySchedule, Weight, WorkingHours, Zone,
};
use consultores_domain::{Consultant, RuleSettings};
use maud::{html, Markup};

use crate::forms::{FieldErrors, Form};
use crate::layout;

/// ISO weekdays, 1 = Monday.
const WEEKDAYS: [&str; 7] = [
    "Segunda", "Terça", "Quarta", "Quinta", "Sexta", "Sábado", "Domingo",
];
/// Periods offered per weekday (more are shown when a consultant already has more).
const PERIODS_PER_DAY: usize = 2;
/// Empty rows of days off offered beyond the ones stored (at least this many in all).
const LEAVE_ROWS: usize = 3;

/// The rules as typed. Blank means "no rule" (for the zone: the service's default).
#[derive(Debug, Clone)]
pub struct RuleValues {
    pub weight: String,
    pub daily_limit: String,
    pub open_limit: String,
    pub time_zone: String,
    /// Per weekday (index 0 = Monday), the `(inicio, fim)` rows.
    pub schedule: Vec<Vec<(String, String)>>,
    /// The `(de, ate)` rows.
    pub leave: Vec<(String, String)>,
}

impl Default for RuleValues {
    fn default() -> Self {
        Self {
            weight: "1".to_owned(),
            daily_limit: String::new(),
            open_limit: String::new(),
            time_zone: String::new(),
            schedule: vec![Vec::new(); 7],
            leave: Vec::new(),
        }
    }
}

fn hour_field(day: usize, period: usize, end: &str) -> String {
    format!("horario-{day}-{period}-{end}")
}

fn leave_field(row: usize, end: &str) -> String {
    format!("ausencia-{row}-{end}")
}

impl RuleValues {
    /// The stored rules; a zone equal to the service's default shows blank, so saving the form
    /// keeps following the default rather than pinning it.
    pub fn of(consultant: &Consultant, default_zone: chrono_tz::Tz) -> Self {
        let rules = &consultant.routing;
        let mut schedule = vec![Vec::new(); 7];
        for period in rules.schedule.iter().flat_map(WeeklySchedule::periods) {
            if let Some(day) = schedule.get_mut(usize::from(period.day).saturating_sub(1)) {
                day.push((
                    format_time_of_day(period.start),
                    format_time_of_day(period.end),
                ));
            }
        }
        Self {
            weight: rules.weight.get().to_string(),
            daily_limit: rules
                .daily_limit
                .map(|l| l.get().to_string())
                .unwrap_or_default(),
            open_limit: rules
                .open_limit
                .map(|l| l.get().to_string())
                .unwrap_or_default(),
            time_zone: if rules.time_zone.tz() == default_zone {
                String::new()
            } else {
                rules.time_zone.name().to_owned()
            },
            schedule,
            leave: rules
                .leave
                .iter()
                .flatten()
                .map(|leave| (leave.from.to_string(), leave.to.to_string()))
                .collect(),
        }
    }

    pub fn from_form(form: &Form) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
        let schedule = (1..=7)
            .map(|day| {
                (1..)
                    .take_while(|period| form.get(&hour_field(day, *period, "inicio")).is_some())
                    .map(|period| {
                        (
                            text(&hour_field(day, period, "inicio")),
                            text(&hour_field(day, period, "fim")),
                        )
                    })
                    .collect()
            })
            .collect();
        let leave = (1..)
            .take_while(|row| form.get(&leave_field(*row, "de")).is_some())
            .map(|row| {
                (
                    text(&leave_field(row, "de")),
                    text(&leave_field(row, "ate")),
                )
            })
            .collect();
        Self {
            weight: text("peso"),
            daily_limit: text("limite_diario"),
            open_limit: text("limite_abertos"),
            time_zone: text("fuso_horario"),
            schedule,
            leave,
        }
    }

    /// Every rule parsed by the domain; each problem recorded under its field (a row's under
    /// the row).
    pub fn parse(&self, errors: &mut FieldErrors) -> Option<RuleSettings> {
        let weight = if self.weight.is_empty() {
            Some(Weight::ONE)
        } else {
            integer(&self.weight, "peso", errors).and_then(|n| errors.take("peso", Weight::new(n)))
        };
        let limit = |name: &'static str, text: &str, errors: &mut FieldErrors| {
            if text.is_empty() {
                return Some(None);
            }
            integer(text, name, errors)
                .and_then(|n| errors.take(name, Limit::new(n)))
                .map(Some)
        };
        let daily_limit = limit("limite_diario", &self.daily_limit, errors);
        let open_limit = limit("limite_abertos", &self.open_limit, errors);
        let time_zone = if self.time_zone.is_empty() {
            Some(None)
        } else {
            errors
                .take("fuso_horario", Zone::parse(&self.time_zone))
                .map(Some)
        };
        let mut periods = Vec::new();
        let mut hours_ok = true;
        for (index, rows) in self.schedule.iter().enumerate() {
            for (row, (start, end)) in rows.iter().enumerate() {
                let key = format!("horario-{}-{}", index + 1, row + 1);
                match hours(index as u8 + 1, start, end) {
                    Ok(None) => {}
                    Ok(Some(period)) => periods.push(period),
                    Err(message) => {
                        errors.add(key, message);
                        hours_ok = false;
                    }
                }
            }
        }
        let schedule =
            hours_ok.then(|| (!periods.is_empty()).then(|| WeeklySchedule::new(periods)));
        let mut leave = Vec::new();
        let mut leave_ok = true;
        for (row, (from, to)) in self.leave.iter().enumerate() {
            match days_off(from, to) {
                Ok(None) => {}
                Ok(Some(days)) => leave.push(days),
                Err(message) => {
                    errors.add(format!("ausencia-{}", row + 1), message);
                    leave_ok = false;
                }
            }
        }
        let leave = leave_ok.then(|| (!leave.is_empty()).then_some(leave));
        Some(RuleSettings {
            weight: weight?,
            daily_limit: daily_limit?,
            open_limit: open_limit?,
            time_zone: time_zone?,
            schedule: schedule?,
            leave: leave?,
        })
    }
}

fn integer(text: &str, field: &'static str, errors: &mut FieldErrors) -> Option<i64> {
    let parsed = text.parse::<i64>().ok();
    if parsed.is_none() {
        errors.add(field, "deve ser um número inteiro");
    }
    parsed
}

/// One row of hours: both blank is no period; otherwise both must be valid, start before end.
fn hours(day: u8, start: &str, end: &str) -> Result<Option<WorkingHours>, String> {
    row(start, end, "informe o início e o fim", |start, end| {
        let start = parse_time_of_day(start).map_err(|e| format!("início: {e}"))?;
        let end = parse_time_of_day(end).map_err(|e| format!("fim: {e}"))?;
        WorkingHours::new(day, start, end).map_err(|e| format!("fim: {e}"))
    })
}

/// One row of days off: both blank is none; otherwise both dates, `de <= ate`.
fn days_off(from: &str, to: &str) -> Result<Option<Leave>, String> {
    row(from, to, "informe as duas datas (de e até)", |from, to| {
        let from = parse_date(from).map_err(|e| format!("de: {e}"))?;
        let to = parse_date(to).map_err(|e| format!("até: {e}"))?;
        Leave::new(from, to).map_err(|e| format!("até: {e}"))
    })
}

/// A row of two fields: both blank is nothing, one blank is `incomplete`, else `read` of both.
fn row<T>(
    first: &str,
    second: &str,
    incomplete: &str,
    read: impl FnOnce(&str, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match (first.is_empty(), second.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => read(first, second).map(Some),
        _ => Err(incomplete.to_owned()),
    }
}

/// The rules' part of the consultant form.
pub fn fields(values: &RuleValues, errors: &FieldErrors, editable: bool) -> Markup {
    let text_field = |name: &'static str, label: &str, value: &str, hint: &str| {
        let error = errors.get(name);
        html! {
            label for=(name) { (label) }
            input id=(name) name=(name) type="text" value=(value) disabled[!editable]
                aria-invalid=[error.map(|_| "true")] aria-describedby=(layout::described_by(name, error).unwrap_or_else(|| format!("{name}-dica")));
            small.vazio id=(format!("{name}-dica")) { (hint) }
            (layout::field_error(name, error))
        }
    };
    let leave_rows = (values.leave.len() + 1).max(LEAVE_ROWS);
    html! {
        fieldset {
            legend { "Regras de distribuição" }
            (text_field("peso", "Peso", &values.weight, "De 1 a 100: com peso 2 recebe o dobro de contatos de quem tem peso 1."))
            (text_field("limite_diario", "Limite diário", &values.daily_limit, "Opcional: no máximo tantos atendimentos da rotação por dia (de 1 a 10000)."))
            (text_field("limite_abertos", "Limite de protocolos abertos", &values.open_limit, "Opcional: fica fora da rotação com tantos protocolos abertos ou em andamento."))
            (text_field("fuso_horario", "Fuso horário", &values.time_zone, "Nome IANA, ex. America/Sao_Paulo. Em branco: o fuso padrão do serviço."))
        }
        fieldset {
            legend { "Horários de atendimento" }
            p.vazio { "Horário local HH:MM (fim até 24:00), até dois períodos por dia. Tudo em branco: sem restrição de horário." }
            @for (index, day) in WEEKDAYS.iter().enumerate() {
                @let rows = values.schedule.get(index).map(Vec::as_slice).unwrap_or_default();
                @for period in 1..=rows.len().max(PERIODS_PER_DAY) {
                    @let (start, end) = rows.get(period - 1).cloned().unwrap_or_default();
                    @let key = format!("horario-{}-{period}", index + 1);
                    (pair(&key, &format!("{day}, {period}º período"), ("inicio", "Início", &start), ("fim", "Fim", &end), "text", errors.get(&key), editable))
                }
            }
        }
        fieldset {
            legend { "Ausências" }
            p.vazio { "Folgas e férias: datas locais, inclusive. Linhas em branco são ignoradas." }
            @for row in 1..=leave_rows {
                @let (from, to) = values.leave.get(row - 1).cloned().unwrap_or_default();
                @let key = format!("ausencia-{row}");
                (pair(&key, &format!("Ausência {row}"), ("de", "De", &from), ("ate", "Até", &to), "date", errors.get(&key), editable))
            }
        }
    }
}

/// A row of two inputs (`{key}-{a}`, `{key}-{b}`) under a caption, with the row's message.
fn pair(
    key: &str,
    caption: &str,
    first: (&str, &str, &str),
    second: (&str, &str, &str),
    kind: &str,
    error: Option<&str>,
    editable: bool,
) -> Markup {
    html! {
        div.periodo role="group" aria-labelledby=(format!("{key}-rotulo")) {
            span.rotulo id=(format!("{key}-rotulo")) { (caption) }
            @for (end, label, value) in [first, second] {
                @let id = format!("{key}-{end}");
                div {
                    label for=(id) { (label) span.pular { " — " (caption) } }
                    input id=(id) name=(id) type=(kind) value=(value) disabled[!editable]
                        placeholder=[(kind == "text").then_some("HH:MM")] inputmode=[(kind == "text").then_some("numeric")]
                        aria-invalid=[error.map(|_| "true")] aria-describedby=[layout::described_by(key, error)];
                }
            }
            (layout::field_error(key, error))
        }
    }
}

/// A consultant's availability at an instant, in Portuguese words.
pub fn reason_text(reason: Unavailability) -> &'static str {
    match reason {
        Unavailability::Inactive => "inativo",
        Unavailability::OutOfRotation => "fora da rotação",
        Unavailability::Offline => "offline",
        Unavailability::OutsideHours => "fora do horário",
        Unavailability::OnLeave => "ausente",
        Unavailability::DailyLimit => "limite diário atingido",
        Unavailability::OpenLimit => "limite de protocolos abertos atingido",
    }
}

/// "disponível" or the reason, as a tag.
pub fn status_tag(availability: &Availability) -> Markup {
    html! {
        @match availability.reason {
            None => span.etiqueta.online { "disponível" },
            Some(reason) => span.etiqueta data-motivo=(reason.as_str()) { (reason_text(reason)) },
        }
    }
}
