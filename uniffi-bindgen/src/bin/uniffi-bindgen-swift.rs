//! `uniffi-bindgen-swift`: uniffi's Swift-specific generator (Swift sources,
//! the C header of the FFI module, an XCFramework-compatible modulemap).
fn main() {
    uniffi::uniffi_bindgen_swift()
}
