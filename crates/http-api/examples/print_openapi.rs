//! Prints the OpenAPI document (`cargo run -p consultores-http --example print_openapi`).

#[allow(clippy::print_stdout)]
fn main() -> Result<(), serde_json::Error> {
    println!("{}", consultores_http::openapi().to_pretty_json()?);
    Ok(())
}
