//! `sqlx::migrate!` embeds the migration folders at compile time, but cargo only knows to rebuild
//! this crate when its own sources change: without this, a new migration file is silently left out.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
