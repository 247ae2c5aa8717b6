//! `gen-header`: writes the C header of Aurora Router's C ABI
//! (`src/ffi/`) with cbindgen, configured by the crate's `cbindgen.toml`.
//!
//! ```sh
//! cargo run -p uniffi-bindgen --bin gen-header -- . include/aurora_router.h
//! ```
//!
//! scripts/gen-bindings.sh runs it; with `--check` the script writes to a
//! temporary file and fails when the committed header differs.
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [crate_dir, out] = args.as_slice() else {
        eprintln!("usage: gen-header CRATE_DIR OUT.h");
        return ExitCode::from(2);
    };
    let crate_dir = PathBuf::from(crate_dir);
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "gen-header: {}: {e}",
                crate_dir.join("cbindgen.toml").display()
            );
            return ExitCode::FAILURE;
        }
    };
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-header: {e}");
            ExitCode::FAILURE
        }
    }
}
