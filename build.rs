//! Build script of the core crate: records the compile target so `aurora
//! doctor` can report it.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=AURORA_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
