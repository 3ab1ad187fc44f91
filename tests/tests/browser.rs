//! The operations page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver against the built binary. Signs in, watches the
//! queue change after a `da-vez`, switches a consultant offline and asks the API, registers a
//! consultant, edits a protocol, downloads the CSV, signs out; a wrong key is refused and a
//! `leitura` key sees no switch. Screenshots at 1280×800 and 390×844 go to
//! `target/screenshots/` on every run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consultores_tests::{free_port, json, Service, ServiceConfig, TestDatabase, API_KEY};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn target_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    // Chromium refuses a profile path with `..` in it.
    target.canonicalize().unwrap_or(target)
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                PathBuf::from(program).exists(),
                "{program} not found: install Debian's chromium and chromium-driver \
                 (scripts/install-browser.sh does it)"
            );
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Driver {
    /// Asks chromedriver to quit, which also ends the browsers it started (a test that failed
    /// halfway never closed its session), then makes sure it is gone.
    fn drop(&mut self) {
        use std::io::Write;
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--window-size=1280,800",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Runs a blocking API call off the async runtime's thread.
fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(call).join().unwrap())
}

/// Waits (up to 15 s, generous on a loaded machine) until the page's HTML satisfies `check`.
async fn eventually(client: &Client, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let html = client.source().await.unwrap();
        if check(&html) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never happened: {what}; page:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sizes the window so that the page itself (the viewport) is `width`×`height`.
async fn viewport(client: &Client, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    let inner: (u32, u32) = serde_json::from_value(inner).unwrap();
    client
        .set_window_size(width + (width - inner.0), height + (height - inner.1))
        .await
        .unwrap();
}

async fn screenshot(client: &Client, name: &str) {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn sign_in(client: &Client, base: &str, key: &str) {
    client.goto(&format!("{base}/painel/entrar")).await.unwrap();
    let field = client.find(Locator::Id("chave")).await.unwrap();
    field.send_keys(key).await.unwrap();
    click(client, Locator::Css("form button[type=submit]")).await;
}

/// Types `text` into the field whose id is `id`.
async fn type_into(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element `locator` finds.
async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

/// The names of the `pt` queue, in order, as shown (read in one script: the page replaces the
/// queue every second, so elements found one call earlier may be gone).
async fn pt_queue(client: &Client) -> Vec<String> {
    let names = client
        .execute(
            "return Array.from(document.querySelectorAll(
                 \"section[aria-labelledby='idioma-pt'] ol.fila li > span\"))
               .map(e => e.textContent.replace('próximo', '').trim());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(names).unwrap()
}

fn api_json(service: &Service, method: &str, path: &str, body: Option<Value>) -> Value {
    off_runtime(|| {
        let response = match (method, body) {
            ("GET", _) => service.get(path),
            ("POST", Some(body)) => service.post(path, &body),
            ("PUT", Some(body)) => service.put(path, &body),
            _ => unreachable!(),
        };
        let (status, body) = json(response);
        assert_eq!(status, 200, "{method} {path}: {body}");
        body
    })
}

/// Starts the service (outside any async runtime: its HTTP client blocks), then drives the
/// browser on a runtime of its own.
fn run_day(database_url: &str, shots: bool) {
    let service = Service::start(&ServiceConfig::with_database(database_url));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(operations_day(&service, shots));
}

async fn operations_day(service: &Service, shots: bool) {
    let base = service.base_url.clone();
    let mut ids = Vec::new();
    for (name, online) in [
        ("Ana Souza", true),
        ("Bruno Lima", true),
        ("Carla Dias", false),
    ] {
        let body = api_json(
            service,
            "POST",
            "/consultor",
            Some(json!({"nome": name, "idiomas": ["pt", "en"], "status_online": online})),
        );
        ids.push(body["id"].as_i64().unwrap());
    }
    let reader = api_json(
        service,
        "POST",
        "/api-keys",
        Some(json!({"description": "gerência", "scope": "leitura"})),
    )["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let driver = Driver::start();
    let profile = target_dir().join(format!("browser-profile-{}", service.port));
    let client = browser(&driver, &profile).await;
    viewport(&client, 1280, 800).await;

    // A wrong key is refused.
    sign_in(&client, &base, "chave-errada").await;
    eventually(&client, "the refusal", |html| {
        html.contains("Chave de API inválida")
    })
    .await;

    // Signed in, the queue shows who is next, and follows a da-vez by itself.
    sign_in(&client, &base, API_KEY).await;
    eventually(&client, "the queue", |html| html.contains("Fila agora")).await;
    assert_eq!(pt_queue(&client).await, ["Ana Souza", "Bruno Lima"]);
    assert!(
        client.source().await.unwrap().contains("offline"),
        "Carla's reason"
    );
    if shots {
        screenshot(&client, "painel-fila-1280x800").await;
    }
    api_json(service, "GET", "/consultor/da-vez?idioma=pt", None);
    let deadline = Instant::now() + Duration::from_secs(15);
    while pt_queue(&client).await != ["Bruno Lima", "Ana Souza"] {
        assert!(
            Instant::now() < deadline,
            "the queue never followed the da-vez"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Switch Ana offline on the page; the API agrees.
    client
        .goto(&format!("{base}/painel/consultores"))
        .await
        .unwrap();
    let switch = format!(
        "form[action='/painel/consultores/{}/conexao'] button",
        ids[0]
    );
    click(&client, Locator::Css(&switch)).await;
    eventually(&client, "the switch", |html| {
        html.contains("agora está offline")
    })
    .await;
    let ana = api_json(service, "GET", &format!("/consultor/{}", ids[0]), None);
    assert_eq!(ana["status_online"], false);

    // Register a consultant.
    client
        .goto(&format!("{base}/painel/consultores/novo"))
        .await
        .unwrap();
    for (id, text) in [
        ("nome", "Diego <Ruiz>"),
        ("email", "diego@exemplo.com"),
        ("idiomas", "es, pt"),
    ] {
        type_into(&client, id, text).await;
    }
    click(&client, Locator::Id("status_online")).await;
    click(&client, Locator::Css("main form button[type=submit]")).await;
    eventually(&client, "the registration", |html| {
        html.contains("Consultor cadastrado")
    })
    .await;
    let all = api_json(service, "GET", "/consultores", None);
    let diego = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["nome"] == "Diego <Ruiz>")
        .unwrap()
        .clone();
    assert_eq!(diego["idiomas"], json!(["es", "pt"]));
    assert_eq!(diego["status_online"], true);

    // Register a consultant with working hours: Tuesday 09:00 to 17:30, typed on the keyboard.
    client
        .goto(&format!("{base}/painel/consultores/novo"))
        .await
        .unwrap();
    for (id, text) in [
        ("nome", "Elisa Horas"),
        ("idiomas", "fr"),
        ("horario-2-1-inicio", "09:00"),
        ("horario-2-1-fim", "17:30"),
    ] {
        type_into(&client, id, text).await;
    }
    click(&client, Locator::Css("main form button[type=submit]")).await;
    eventually(&client, "the registration with hours", |html| {
        html.contains("Consultor cadastrado")
    })
    .await;
    let all = api_json(service, "GET", "/consultores?idioma=fr", None);
    assert_eq!(all[0]["nome"], "Elisa Horas");
    assert_eq!(
        all[0]["horarios"],
        json!([{"dia": 2, "inicio": "09:00", "fim": "17:30"}])
    );

    // Edit a protocol.
    let protocol = api_json(service, "GET", "/consultor/da-vez?idioma=es", None)["protocolo_id"]
        .as_i64()
        .unwrap();
    client
        .goto(&format!("{base}/painel/protocolos/{protocol}"))
        .await
        .unwrap();
    client
        .find(Locator::Id("status"))
        .await
        .unwrap()
        .select_by_value("fechado")
        .await
        .unwrap();
    type_into(&client, "descricao", "Cliente atendido <ok>").await;
    click(&client, Locator::Css("main form button[type=submit]")).await;
    eventually(&client, "the protocol saved", |html| {
        html.contains("Alterações salvas")
    })
    .await;
    let saved = api_json(service, "GET", &format!("/protocolo/{protocol}"), None);
    assert_eq!(saved["status"], "fechado");
    assert_eq!(saved["descricao"], "Cliente atendido <ok>");

    // The report, and its CSV through the session.
    client
        .goto(&format!("{base}/painel/relatorio"))
        .await
        .unwrap();
    eventually(&client, "the chart", |html| html.contains("<svg")).await;
    if shots {
        screenshot(&client, "painel-relatorio-1280x800").await;
    }
    let href = client
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    assert!(
        csv.starts_with("consultor_id,nome,data,atribuicoes\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("Ana Souza") && csv.contains("Diego <Ruiz>"),
        "{csv}"
    );

    if shots {
        viewport(&client, 390, 844).await;
        client.goto(&format!("{base}/painel/fila")).await.unwrap();
        eventually(&client, "the queue", |html| html.contains("Fila agora")).await;
        screenshot(&client, "painel-fila-390x844").await;
        client
            .goto(&format!("{base}/painel/consultores"))
            .await
            .unwrap();
        screenshot(&client, "painel-consultores-390x844").await;
        let elisa = api_json(service, "GET", "/consultores?idioma=fr", None)[0]["id"].clone();
        client
            .goto(&format!("{base}/painel/consultores/{elisa}"))
            .await
            .unwrap();
        client
            .execute(
                "document.getElementById('horario-1-1-inicio').scrollIntoView()",
                vec![],
            )
            .await
            .unwrap();
        screenshot(&client, "painel-consultor-horarios-390x844").await;
        viewport(&client, 1280, 800).await;
    }

    // Sign out: the page is closed again.
    click(&client, Locator::Css("form.sair button")).await;
    eventually(&client, "the sign-in", |html| html.contains("id=\"chave\"")).await;
    client.goto(&format!("{base}/painel/fila")).await.unwrap();
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/painel/entrar"));

    // A leitura key sees the queue but no switch.
    sign_in(&client, &base, &reader).await;
    eventually(&client, "the queue", |html| html.contains("Fila agora")).await;
    let html = client.source().await.unwrap();
    assert!(html.contains("Bruno Lima"));
    assert!(
        !html.contains("Deixar offline") && !html.contains("Deixar online"),
        "{html}"
    );
    assert!(!html.contains("Auditoria"));

    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}

#[test]
fn the_operations_page_in_chromium_on_sqlite() {
    let dir = target_dir().join(format!("browser-sqlite-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    run_day(&format!("sqlite://{}/painel.db", dir.display()), true);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_operations_page_in_chromium_on_postgres() {
    let database = TestDatabase::postgres();
    run_day(database.url(), false);
}
