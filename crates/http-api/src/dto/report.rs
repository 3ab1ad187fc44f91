//! `GET /relatorios/atribuicoes`: the query, the JSON answer and its CSV form.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use consultores_domain::{AssignmentReport, Language, ReportRequest, MAX_REPORT_DAYS};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::input::query::language;
use crate::input::QueryParams;
use crate::local_days::local_days;
use crate::validation::{FieldError, Loc, Place, Problems};

/// Query of `GET /relatorios/atribuicoes`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First local day of the period (inclusive).
    #[param(rename = "de", value_type = String, format = Date, example = "2026-11-01")]
    pub from: String,
    /// Last local day of the period (inclusive); at most 366 days after `de`, counting both.
    #[param(rename = "ate", value_type = String, format = Date, example = "2026-11-30")]
    pub to: String,
    /// Only assignments in this language.
    #[param(rename = "idioma", value_type = Option<String>, example = "pt")]
    pub language: Option<String>,
    /// IANA time zone whose local days are counted (default: the service's
    /// `DEFAULT_TIME_ZONE`, itself `America/Sao_Paulo`).
    #[param(rename = "fuso_horario", value_type = Option<String>, example = "America/Sao_Paulo")]
    pub time_zone: Option<String>,
    /// `csv` for the CSV form (as `Accept: text/csv`), `json` for JSON whatever `Accept` says.
    #[param(rename = "formato", value_type = Option<String>, example = "csv")]
    pub format: Option<String>,
}

/// The output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
}

/// A checked report query.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: Tz,
    pub request: ReportRequest,
    /// `None` when `formato` is absent (then `Accept` decides).
    pub format: Option<ReportFormat>,
}

impl ReportQuery {
    const ORDER: [&'static str; 5] = ["de", "ate", "idioma", "fuso_horario", "formato"];

    /// Reads and checks the query; every bad parameter is a 422 item on its own `loc`.
    pub fn parse(query: &QueryParams, default_zone: Tz) -> Result<ParsedReport, crate::ApiError> {
        let mut problems = Problems::new();
        let from = date(query, "de", &mut problems);
        let to = date(query, "ate", &mut problems);
        if let (Some(first), Some(last)) = (from, to) {
            let loc = || Loc::field(Place::Query, "ate");
            let input = Value::String(last.to_string());
            if last < first {
                problems.push(FieldError::new(
                    "value_error.date_order",
                    loc(),
                    "deve ser igual ou posterior a de",
                    input,
                ));
            } else if (last - first).num_days() >= MAX_REPORT_DAYS as i64 {
                problems.push(FieldError::new(
                    "value_error.period_too_long",
                    loc(),
                    format!("o período pode ter no máximo {MAX_REPORT_DAYS} dias"),
                    input,
                ));
            }
        }
        let language: Option<Language> = language(query.last("idioma"), "idioma", &mut problems);
        let zone = match query.last("fuso_horario") {
            None => Some(default_zone),
            Some(raw) => parse_zone(raw).or_else(|| {
                problems.push(FieldError::query(
                    "value_error.time_zone",
                    "fuso_horario",
                    "deve ser um fuso horário IANA, como America/Sao_Paulo",
                    raw,
                ));
                None
            }),
        };
        let format = match query.last("formato") {
            None => None,
            Some("csv") => Some(ReportFormat::Csv),
            Some("json") => Some(ReportFormat::Json),
            Some(raw) => {
                problems.push(FieldError::query(
                    "enum",
                    "formato",
                    "deve ser csv ou json",
                    raw,
                ));
                None
            }
        };
        problems.order_fields(Place::Query, &Self::ORDER);
        let parsed = match (from, to, zone) {
            (Some(from), Some(to), Some(zone)) => Some(ParsedReport {
                from,
                to,
                zone,
                request: ReportRequest {
                    days: local_days(zone, from, to),
                    language,
                },
                format,
            }),
            _ => None,
        };
        problems.finish_with(parsed)
    }
}

/// An IANA zone name (exact spelling, as the tz database writes it).
pub fn parse_zone(raw: &str) -> Option<Tz> {
    raw.trim().parse::<Tz>().ok()
}

/// Dates outside these years are refused (both databases store instants well beyond, but the
/// text form of an instant is only fixed-width inside them).
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

fn date(query: &QueryParams, name: &'static str, problems: &mut Problems) -> Option<NaiveDate> {
    let raw = query.required_text(name, problems)?;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|date| YEARS.contains(&chrono::Datelike::year(date)))
        .ok_or(())
        .map_err(|_| {
            problems.push(FieldError::query(
                "date_from_datetime_parsing",
                name,
                "deve ser uma data no formato AAAA-MM-DD",
                raw,
            ));
        })
        .ok()
}

/// One consultant's line of the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportLine {
    #[serde(rename = "consultor_id")]
    pub consultant_id: i64,
    #[serde(rename = "nome")]
    pub name: String,
    pub total: u64,
    /// Assignments per local day, every day of the period (zeros included).
    #[schema(value_type = Object, example = json!({"2026-11-01": 3, "2026-11-02": 0}))]
    #[serde(rename = "por_dia")]
    pub per_day: BTreeMap<String, u64>,
}

/// The answer of `GET /relatorios/atribuicoes`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportResponse {
    #[schema(example = "2026-11-01")]
    #[serde(rename = "de")]
    pub from: String,
    #[schema(example = "2026-11-30")]
    #[serde(rename = "ate")]
    pub to: String,
    #[schema(example = "America/Sao_Paulo")]
    #[serde(rename = "fuso_horario")]
    pub time_zone: String,
    /// The language counted, or null for every language.
    #[serde(rename = "idioma")]
    pub language: Option<String>,
    pub total: u64,
    #[serde(rename = "consultores")]
    pub consultants: Vec<ReportLine>,
}

impl ReportResponse {
    pub fn new(parsed: &ParsedReport, report: &AssignmentReport) -> Self {
        Self {
            from: parsed.from.to_string(),
            to: parsed.to.to_string(),
            time_zone: parsed.zone.name().to_owned(),
            language: parsed
                .request
                .language
                .as_ref()
                .map(|language| language.as_str().to_owned()),
            total: report.total,
            consultants: report
                .consultants
                .iter()
                .map(|line| ReportLine {
                    consultant_id: line.consultant_id.0,
                    name: line.name.clone(),
                    total: line.total,
                    per_day: report
                        .days
                        .iter()
                        .zip(&line.per_day)
                        .map(|(day, count)| (day.to_string(), *count))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The CSV form: a header, then one row per consultant per day
/// (`consultor_id,nome,data,atribuicoes`), RFC 4180 quoting.
pub fn csv(report: &AssignmentReport) -> String {
    let mut out = String::from("consultor_id,nome,data,atribuicoes\r\n");
    for line in &report.consultants {
        let name = csv_field(&line.name);
        for (day, count) in report.days.iter().zip(&line.per_day) {
            out.push_str(&format!(
                "{},{name},{day},{count}\r\n",
                line.consultant_id.0
            ));
        }
    }
    out
}

/// A text cell: quoted when needed, and a leading `=`, `+`, `-`, `@` defused with `'` so a
/// spreadsheet never runs a name as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// Whether the request asked for CSV (`Accept: text/csv` without `formato=json`).
pub fn wants_csv(format: Option<ReportFormat>, accept: Option<&str>) -> bool {
    match format {
        Some(format) => format == ReportFormat::Csv,
        None => accept.is_some_and(|accept| accept.to_ascii_lowercase().contains("text/csv")),
    }
}

#[cfg(test)]
mod tests {
    use consultores_domain::{ConsultantAssignments, ConsultantId};

    use super::*;
    use crate::ApiError;

    fn locs(query: &str) -> Vec<String> {
        let Err(ApiError::Validation(items)) =
            ReportQuery::parse(&QueryParams::parse(query), chrono_tz::America::Sao_Paulo)
        else {
            panic!("expected a 422 for {query}");
        };
        items
            .iter()
            .map(|item| item.loc_field().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn every_bad_parameter_is_reported_on_its_own_loc() {
        assert_eq!(locs(""), ["de", "ate"]);
        assert_eq!(locs("de=2026-13-01&ate=ontem"), ["de", "ate"]);
        assert_eq!(locs("de=1899-12-31&ate=+262143-12-31"), ["de", "ate"]);
        assert_eq!(locs("de=2026-11-02&ate=2026-11-01"), ["ate"]);
        assert_eq!(locs("de=2026-01-01&ate=2027-01-02"), ["ate"]);
        assert_eq!(
            locs("de=2026-01-01&ate=2026-01-02&idioma=p&fuso_horario=Marte/Olympus&formato=xml"),
            ["idioma", "fuso_horario", "formato"]
        );
    }

    #[test]
    fn a_366_day_period_is_accepted_with_the_default_zone() {
        let parsed = ReportQuery::parse(
            &QueryParams::parse("de=2028-01-01&ate=2028-12-31"),
            chrono_tz::America::Sao_Paulo,
        )
        .unwrap();
        assert_eq!(parsed.request.days.len(), 366);
        assert_eq!(parsed.zone, chrono_tz::America::Sao_Paulo);
        assert_eq!(parsed.format, None);
    }

    #[test]
    fn csv_quotes_and_defuses_names() {
        let report = AssignmentReport {
            days: vec![NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()],
            total: 2,
            consultants: vec![
                ConsultantAssignments {
                    consultant_id: ConsultantId(1),
                    name: "Silva, \"Ana\"".to_owned(),
                    total: 2,
                    per_day: vec![2],
                },
                ConsultantAssignments {
                    consultant_id: ConsultantId(2),
                    name: "=HYPERLINK(1)".to_owned(),
                    total: 0,
                    per_day: vec![0],
                },
            ],
        };
        assert_eq!(
            csv(&report),
            "consultor_id,nome,data,atribuicoes\r\n\
             1,\"Silva, \"\"Ana\"\"\",2026-11-01,2\r\n\
             2,'=HYPERLINK(1),2026-11-01,0\r\n"
        );
    }

    #[test]
    fn accept_decides_only_without_formato() {
        assert!(wants_csv(None, Some("text/csv")));
        assert!(!wants_csv(None, Some("application/json")));
        assert!(!wants_csv(Some(ReportFormat::Json), Some("text/csv")));
        assert!(wants_csv(Some(ReportFormat::Csv), None));
    }
}
