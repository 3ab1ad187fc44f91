//! Consultant fixtures over the API: register a team, switch it online, and group its members
//! by the languages they speak (the unit in which the rotation must be fair).

use std::collections::BTreeMap;

use serde_json::json;

use crate::{json, Service};

/// A registered consultant.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub languages: Vec<String>,
}

/// Registers one consultant (online when `online`) and returns it.
pub fn hire(service: &Service, name: &str, languages: &[&str], online: bool) -> Member {
    let (status, body) =
        json(service.post("/consultor", &json!({ "nome": name, "idiomas": languages })));
    assert_eq!(status, 200, "POST /consultor {name}: {body}");
    let id = body["id"].as_i64().expect("consultant id");
    if online {
        set_online(service, id, true);
    }
    Member {
        id,
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
    }
}

/// `PUT /consultor/{id}/connection?status=…`, asserting 200.
pub fn set_online(service: &Service, id: i64, online: bool) {
    let (status, body) = json(service.put(
        &format!("/consultor/{id}/connection?status={online}"),
        &json!({}),
    ));
    assert_eq!(status, 200, "connection of {id}: {body}");
}

/// Registers `count` online consultants who each speak exactly `languages`.
pub fn hire_group(service: &Service, languages: &[&str], count: usize) -> Vec<Member> {
    (0..count)
        .map(|index| {
            let name = format!("Consultor {} {index}", languages.join(" "));
            hire(service, &name, languages, true)
        })
        .collect()
}

/// Members grouped by their language set (`"en+pt"`), the groups in which the rotation's
/// fairness is exact.
pub fn by_language_set(members: &[Member]) -> BTreeMap<String, Vec<i64>> {
    let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for member in members {
        let mut languages = member.languages.clone();
        languages.sort();
        groups
            .entry(languages.join("+"))
            .or_default()
            .push(member.id);
    }
    groups
}
