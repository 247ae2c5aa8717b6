//! With the `bindgen` feature, build.rs regenerates the bindings from the
//! repo's own include/cactus_engine.h into OUT_DIR; they must equal the
//! checked-in src/bindings.rs byte for byte (up to a trailing newline).
//!
//! To update src/bindings.rs after editing the header:
//! `cargo build -p cactus-sys --features bindgen` and copy
//! `target/debug/build/cactus-sys-*/out/bindings_repo_header.rs` over it.
#![cfg(feature = "bindgen")]

#[test]
fn bindgen_matches_checked_in() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/bindings_repo_header.rs"));
    let checked_in = include_str!("../src/bindings.rs");
    assert!(
        generated.trim_end_matches('\n') == checked_in.trim_end_matches('\n'),
        "src/bindings.rs is out of date with include/cactus_engine.h; \
         regenerated version:\n{generated}"
    );
}
