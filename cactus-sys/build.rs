//! Build script of cactus-sys: decides what to link for the *target*.
//!
//! 1. `mock` feature            -> compile mock/cactus_mock.c (always).
//! 2. `CACTUS_LIB_DIR` set      -> link the real engine from that directory:
//!    `libcactus_engine.a` when `CACTUS_STATIC=1`, else the shared library.
//! 3. iOS/Android-like target   -> emit no link line: the app links Cactus's
//!    own xcframework / `libcactus.so`.
//! 4. any other target          -> compile mock/cactus_mock.c.
//!
//! The target is read from `CARGO_CFG_TARGET_*`, never from `cfg!` (which
//! describes the machine running this script).

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    for var in ["CACTUS_LIB_DIR", "CACTUS_STATIC", "CACTUS_INCLUDE_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=mock/cactus_mock.c");
    println!("cargo:rerun-if-changed=include/cactus_engine.h");
    println!("cargo::rustc-check-cfg=cfg(cactus_mock)");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let include_dir = manifest_dir.join("include");
    println!("cargo:include={}", include_dir.display());

    let target = env::var("TARGET").unwrap_or_default();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let force_mock = env::var_os("CARGO_FEATURE_MOCK").is_some();
    let lib_dir = env::var_os("CACTUS_LIB_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let want_static = env::var("CACTUS_STATIC").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    let app_links_cactus = matches!(
        target_os.as_str(),
        "ios" | "tvos" | "watchos" | "visionos" | "android"
    );

    let link_info = if force_mock {
        build_mock(&include_dir, "forced by the `mock` feature")
    } else if let Some(dir) = lib_dir {
        link_real(&dir, want_static, &target_os)
    } else if app_links_cactus {
        println!("cargo:mock=0");
        println!("cargo:link_kind=none");
        format!(
            "none: no link line emitted for target {target}; without CACTUS_LIB_DIR the app must link \
             Cactus itself (cactus.xcframework on Apple, libcactus.so on Android)"
        )
    } else {
        build_mock(&include_dir, "no CACTUS_LIB_DIR set for this target")
    };
    println!("cargo:rustc-env=CACTUS_SYS_LINK_INFO={link_info}");

    #[cfg(feature = "bindgen")]
    regenerate_bindings(&include_dir);
}

/// Compiles the deterministic C mock and links it statically.
fn build_mock(include_dir: &Path, why: &str) -> String {
    let mut build = cc::Build::new();
    build
        .file("mock/cactus_mock.c")
        .include(include_dir)
        .warnings(true);
    if build.get_compiler().is_like_msvc() {
        // /fp:precise never contracts a*b+c into an FMA unless /fp:contract.
        build.flag("/fp:precise").flag("/std:c11");
    } else {
        // Bit-identical vectors across x86-64 and aarch64: no fused
        // multiply-adds, sqrt inlined as the IEEE instruction.
        build
            .flag("-std=c11")
            .flag("-ffp-contract=off")
            .flag("-fno-math-errno");
        if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86") {
            // Avoid x87 excess precision on 32-bit x86.
            build.flag("-msse2").flag("-mfpmath=sse");
        }
    }
    build.compile("cactus_mock");

    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let vendor = env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    if family.split(',').any(|f| f == "unix") && vendor != "apple" {
        println!("cargo:rustc-link-lib=m");
    }

    let out_dir = env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rustc-cfg=cactus_mock");
    println!("cargo:mock=1");
    println!("cargo:link_kind=mock");
    println!("cargo:lib_dir={out_dir}");
    format!("mock: compiled mock/cactus_mock.c into {out_dir}/libcactus_mock.a ({why})")
}

/// Links the real engine found in `dir`.
fn link_real(dir: &Path, want_static: bool, target_os: &str) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|e| {
        panic!(
            "cactus-sys: CACTUS_LIB_DIR={} is not a usable directory: {e}",
            dir.display()
        )
    });
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:lib_dir={}", dir.display());
    println!("cargo:mock=0");

    if want_static {
        let found = ["libcactus_engine.a", "cactus_engine.lib"]
            .iter()
            .any(|f| dir.join(f).is_file());
        if !found {
            panic!(
                "cactus-sys: CACTUS_STATIC=1 but {} has no libcactus_engine.a",
                dir.display()
            );
        }
        println!("cargo:rustc-link-lib=static=cactus_engine");
        println!("cargo:link_kind=static");
        // Cactus is C++: a static archive also needs the C++ runtime and the
        // system libraries it uses.
        let mut extra: Vec<String> = Vec::new();
        match target_os {
            "macos" | "ios" | "tvos" | "watchos" | "visionos" => {
                for fw in [
                    "CoreML",
                    "Foundation",
                    "Accelerate",
                    "Security",
                    "SystemConfiguration",
                    "CFNetwork",
                ] {
                    println!("cargo:rustc-link-lib=framework={fw}");
                    extra.push(format!("framework {fw}"));
                }
                println!("cargo:rustc-link-lib=c++");
                extra.push("c++".into());
            }
            "android" => {
                for lib in ["log", "android", "c++_shared"] {
                    println!("cargo:rustc-link-lib={lib}");
                    extra.push(lib.into());
                }
            }
            "windows" => {}
            _ => {
                println!("cargo:rustc-link-lib=stdc++");
                extra.push("stdc++".into());
            }
        }
        format!(
            "static: libcactus_engine.a from {} (+ {})",
            dir.display(),
            if extra.is_empty() {
                "nothing".to_string()
            } else {
                extra.join(", ")
            }
        )
    } else {
        // Cactus ships libcactus.{so,dylib}; accept libcactus_engine too.
        let has = |stem: &str| {
            [
                format!("lib{stem}.so"),
                format!("lib{stem}.dylib"),
                format!("{stem}.lib"),
            ]
            .iter()
            .any(|f| dir.join(f).is_file())
        };
        let name = if !has("cactus") && has("cactus_engine") {
            "cactus_engine"
        } else {
            if !has("cactus") {
                println!(
                    "cargo:warning=cactus-sys: no libcactus shared library found in {}; linking -lcactus anyway",
                    dir.display()
                );
            }
            "cactus"
        };
        println!("cargo:rustc-link-lib=dylib={name}");
        println!("cargo:link_kind=dylib");
        format!("dylib: -l{name} from {}", dir.display())
    }
}

/// `bindgen` feature: regenerates the bindings into OUT_DIR.
///
/// * `OUT_DIR/bindings.rs` - from `$CACTUS_INCLUDE_DIR/cactus_engine.h` if set,
///   else from the repo's header; used by the crate instead of src/bindings.rs.
/// * `OUT_DIR/bindings_repo_header.rs` - always from the repo's header; the
///   `bindgen_matches_checked_in` test compares it with src/bindings.rs.
#[cfg(feature = "bindgen")]
fn regenerate_bindings(repo_include_dir: &Path) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let repo_header = repo_include_dir.join("cactus_engine.h");
    let repo_out = out_dir.join("bindings_repo_header.rs");
    generate(&repo_header, &repo_out);

    let custom = env::var_os("CACTUS_INCLUDE_DIR")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("cactus_engine.h"));
    match custom {
        Some(header) => {
            println!("cargo:rerun-if-changed={}", header.display());
            generate(&header, &out_dir.join("bindings.rs"));
        }
        None => {
            std::fs::copy(&repo_out, out_dir.join("bindings.rs")).expect("copy bindings");
        }
    }
}

#[cfg(feature = "bindgen")]
fn generate(header: &Path, out: &Path) {
    let rust_target = bindgen::RustTarget::stable(82, 0).expect("bindgen rust target");
    bindgen::Builder::default()
        .header(header.to_str().expect("header path is not UTF-8"))
        .rust_target(rust_target)
        .allowlist_function("cactus_.*")
        .allowlist_type("cactus_.*")
        .allowlist_var("cactus_.*")
        .layout_tests(false)
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on {}: {e}", header.display()))
        .write_to_file(out)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
