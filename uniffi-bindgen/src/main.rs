//! `uniffi-bindgen`: uniffi's bindings generator (Kotlin, Swift, Python…),
//! used in library mode on the unstripped `libaurora_router` cdylib:
//!
//! ```sh
//! cargo run -p uniffi-bindgen --bin uniffi-bindgen -- generate \
//!     --library target/debug/libaurora_router.so --language kotlin --out-dir bindings/kotlin
//! ```
fn main() {
    uniffi::uniffi_bindgen_main()
}
