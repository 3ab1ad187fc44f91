use super::*;

#[test]
fn note_text_is_escaped_for_html() {
    assert_eq!(
        plain_text_as_html("Protocolo #00042 — <Ana & Bia>\nlinha 2"),
        "Protocolo #00042 — &lt;Ana &amp; Bia&gt;<br>linha 2"
    );
}

fn config(token: &str, url: &str) -> PipedriveConfig {
    PipedriveConfig::new(token, Url::parse(url).unwrap())
}

#[test]
fn refuses_an_empty_token() {
    let error = PipedriveClient::new(config("  ", "https://acme.pipedrive.com")).unwrap_err();
    assert_eq!(error, ConfigError::EmptyToken);
}

#[test]
fn refuses_a_token_that_cannot_be_a_header() {
    let error = PipedriveClient::new(config("abc\ndef", "https://acme.pipedrive.com")).unwrap_err();
    assert_eq!(error, ConfigError::InvalidToken);
}

#[test]
fn refuses_a_base_url_that_is_not_http() {
    let error = PipedriveClient::new(config("t", "mailto:ops@acme.com")).unwrap_err();
    assert!(matches!(error, ConfigError::InvalidBaseUrl(_)), "{error:?}");
}

#[test]
fn refuses_a_zero_timeout() {
    let zero = config("t", "https://acme.pipedrive.com").with_timeout(Duration::ZERO);
    assert_eq!(
        PipedriveClient::new(zero).unwrap_err(),
        ConfigError::ZeroTimeout
    );
}

#[test]
fn keeps_only_the_company_domain_of_the_base_url() {
    let client =
        PipedriveClient::new(config("t", "https://acme.pipedrive.com/api/v1?x=1")).unwrap();
    assert_eq!(client.base_url().as_str(), "https://acme.pipedrive.com/");
    let url = client.url(&["api", "v2", "deals", "42"]).unwrap();
    assert_eq!(url.as_str(), "https://acme.pipedrive.com/api/v2/deals/42");
}

#[test]
fn rejects_ids_pipedrive_cannot_have() {
    assert!(matches!(
        positive(0, "negócio"),
        Err(CrmError::Permanent { .. })
    ));
    assert!(matches!(lead_id("  "), Err(CrmError::Permanent { .. })));
}
