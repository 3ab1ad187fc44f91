//! `GET /metrics`.

use actix_web::http::Method;
use actix_web::test::TestRequest;

use crate::common::{start, with_key, ADMIN_KEY};
use crate::on_both_backends;

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

on_both_backends! {
    async fn metrics_count_requests_assignments_and_pool_state(backend) {
        let app = start(backend).await;
        app.online_consultant("Ana Souza", &["pt"]).await;
        app.get("/consultor/da-vez?idioma=pt").await.expect(200);
        app.get("/consultor/da-vez?idioma=PT").await.expect(200);
        app.get("/consultor/da-vez?idioma=en").await.expect(404);
        app.get("/consultor/da-vez?idioma=zz-yy").await.expect(404);
        app.get("/consultor/42").await.expect(404);
        app.send(TestRequest::get().uri("/nada")).await.expect(404);
        let reply = app.send(with_key(Method::GET, "/metrics", ADMIN_KEY)).await;
        reply.expect(200);
        assert!(reply.header("content-type").unwrap().starts_with("text/plain"));
        let text = reply.text();
        assert_eq!(sample(&text, r#"consultores_assignments_total{idioma="pt"}"#), Some(2.0));
        assert!(!text.contains(r#"idioma="en""#) && !text.contains("zz-yy"), "{text}");
        assert_eq!(sample(&text, "consultores_assignments_none_available_total"), Some(2.0));
        assert_eq!(
            sample(&text, r#"http_requests_total{method="GET",route="/consultor/da-vez",status="200"}"#),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, r#"http_requests_total{method="GET",route="/consultor/{consultor_id}",status="404"}"#),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
            Some(1.0)
        );
        assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/consultor/da-vez",le="#));
        assert!(sample(&text, "consultores_db_pool_max_size").unwrap() >= 1.0);
        assert!(sample(&text, "consultores_db_pool_connections").is_some());
        assert!(sample(&text, "consultores_db_pool_idle_connections").is_some());
    }

    async fn unknown_methods_do_not_create_series(backend) {
        let app = start(backend).await;
        let method = Method::from_bytes(b"XYZZY").unwrap();
        app.send(TestRequest::default().method(method).uri("/consultores")).await.expect(405);
        let text = app.send(with_key(Method::GET, "/metrics", ADMIN_KEY)).await.text();
        assert!(!text.contains("XYZZY"));
        assert!(text.contains(r#"method="OTHER""#));
    }
}
