//! A new user's first start: no configuration at all.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use consultores_tests::{json, Service, ServiceConfig};

#[test]
fn first_start_without_configuration_uses_sqlite_and_prints_a_working_key() {
    let dir = std::env::temp_dir().join(format!("consultores-first-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let service = Service::start(&ServiceConfig {
        database_url: None,
        api_key: None,
        work_dir: Some(dir.clone()),
        extra_env: Vec::new(),
        port: None,
    });
    assert!(dir.join("data/consultores.db").exists());

    let stderr = service.stderr_lines();
    let key = stderr
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("csk_"))
        .unwrap_or_else(|| panic!("no key printed; stderr:\n{}", stderr.join("\n")))
        .to_owned();

    let client = reqwest::blocking::Client::new();
    let unauthorised = client.get(service.url("/consultores")).send().unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
    let (status, body) = json(
        client
            .get(service.url("/consultores"))
            .header("api-key", &key)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::json!([]));

    // Every log line on stdout is one JSON object, and the key never appears in the logs.
    let stdout = service.stdout_lines();
    assert!(!stdout.is_empty());
    for line in &stdout {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(parsed.is_object());
        assert!(
            !line.contains(&key),
            "the key leaked into a log line: {line}"
        );
    }

    // A second start reuses the stored key and prints none.
    let status = service.terminate();
    assert!(status.success());
    let again = Service::start(&ServiceConfig {
        database_url: None,
        api_key: None,
        work_dir: Some(dir.clone()),
        extra_env: Vec::new(),
        port: None,
    });
    assert!(again
        .stderr_lines()
        .iter()
        .all(|l| !l.trim().starts_with("csk_")));
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}
