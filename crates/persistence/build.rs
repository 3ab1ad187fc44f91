//! `embed_migrations!` reads the migration folders at compile time, but a proc macro cannot tell
//! Cargo to watch a folder for NEW migrations: this does, so adding one rebuilds the crate.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
