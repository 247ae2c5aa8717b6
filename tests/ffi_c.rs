//! The C ABI from C: compiles the programs of `tests/c/` with the system C
//! compiler against the staticlib cargo built next to this test
//! (`target/<profile>/deps/libaurora_router.a`) and `include/aurora_router.h`,
//! runs them (`route_test.c` on the shipped profile, `routes_test.c` on a
//! route file) and compares every decision they print with the Rust
//! [`Router`]'s and `RouteSet`'s.
//!
//! `AURORA_ASAN=1` compiles the C programs with AddressSanitizer,
//! LeakSanitizer and UBSan (`scripts/test-c-asan.sh`).
//! `AURORA_VALGRIND=1` runs the program under valgrind's memcheck (no leaks,
//! no invalid accesses); scripts/test-c.sh sets it, and CI runs that.
//! Off x86-64 Linux the program is cross-compiled with
//! `aarch64-linux-gnu-gcc` and run under `qemu-aarch64` when both exist;
//! otherwise the test says why it skipped.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aurora_router::embed::{CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::profile::Profile;
use aurora_router::route::Router;

const PREFS: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<triple>/<profile>/`: the test binary lives in its `deps/`.
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The C compiler and the runner prefix for this target, or why there is none.
fn toolchain() -> Result<(String, Vec<String>), String> {
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        return Ok((cc, vec![]));
    }
    if cfg!(all(target_arch = "aarch64", target_os = "linux")) {
        let runner = common::emulator();
        if runner.is_empty() {
            return Ok(("cc".into(), vec![]));
        }
        if have("aarch64-linux-gnu-gcc") && Path::new("/usr/aarch64-linux-gnu").exists() {
            return Ok(("aarch64-linux-gnu-gcc".into(), runner));
        }
        return Err("no aarch64 C cross compiler".into());
    }
    Err("the C test runs on Linux (x86-64, or aarch64 natively / under qemu)".into())
}

/// One decision as the C program printed it.
/// The toolchain, or `None` after printing why the test is skipped.
fn toolchain_or_skip() -> Option<(String, Vec<String>)> {
    toolchain().map_err(|why| eprintln!("skipped: {why}")).ok()
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
struct Line {
    kind: char,
    index: usize,
    pref: u32,
}

fn parse(stdout: &str) -> HashMap<Line, (u32, u32, u32, u32)> {
    let mut out = HashMap::new();
    for l in stdout.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 7 || !(f[0] == "E" || f[0] == "T") {
            continue;
        }
        let hex = |s: &str| u32::from_str_radix(s, 16).unwrap();
        let key = Line {
            kind: f[0].chars().next().unwrap(),
            index: f[1].parse().unwrap(),
            pref: f[2].parse().unwrap(),
        };
        let value = (
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
            hex(f[5]),
            hex(f[6]),
        );
        assert!(out.insert(key, value).is_none(), "duplicate line {l}");
    }
    out
}

/// A profile over the mock Cactus's embeddings: the shipped profile's
/// models and error rates, with centroids that are the mock embeddings of
/// the first K example prompts.
fn mock_profile(dir: &Path, texts: &[String]) -> PathBuf {
    let mut p = Profile::read(root().join("profiles/mmlu_pro-minilm.json")).unwrap();
    let e = CactusEmbedder::mock(p.dim()).unwrap();
    p.metadata.embedding_model = e.model_id().to_string();
    p.metadata.is_mock = true;
    let k = p.n_clusters();
    p.centroids = texts[..k]
        .iter()
        .flat_map(|t| e.embed(t).unwrap())
        .collect();
    let path = dir.join("mock-profile.json");
    std::fs::write(&path, p.to_json()).unwrap();
    path
}

fn prompts(n: usize) -> Vec<String> {
    std::fs::read_to_string(root().join("examples/mmlu_pro/prompts.jsonl"))
        .unwrap()
        .lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            // One text per line for the C side.
            v["text"].as_str().unwrap().replace(['\n', '\r'], " ")
        })
        .collect()
}

/// Compiles `tests/c/<source>` into `dir` and links it with the staticlib
/// this test was built against (with the sanitizers under `AURORA_ASAN=1`).
fn compile_c(cc: &str, source: &str, dir: &Path) -> PathBuf {
    // `deps/` holds the library this test was built against; `cargo test`
    // does not copy it up to the profile directory (`cargo build` does).
    let target = artifact_dir();
    let staticlib = [target.join("deps"), target.clone()]
        .map(|d| d.join("libaurora_router.a"))
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no libaurora_router.a in {}", target.display()));
    // AddressSanitizer + LeakSanitizer (+ UBSan) in the C program: they
    // intercept every malloc/free, the Rust library's too.
    let sanitizers: &[&str] = if asan() {
        &[
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ]
    } else {
        &[]
    };
    let exe = dir.join(source.trim_end_matches(".c"));
    let status = Command::new(cc)
        .args(sanitizers)
        .args([
            "-std=c11",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-O1",
        ])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("tests/c").join(source))
        .arg(&staticlib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "compiling tests/c/{source} failed");
    exe
}

fn asan() -> bool {
    std::env::var("AURORA_ASAN").is_ok_and(|v| v == "1")
}

/// Runs a compiled C program (through the emulator, and under valgrind when
/// `AURORA_VALGRIND=1`); panics with its stderr unless it succeeds.
fn run_c(runner: &[String], exe: &Path, args: &[String]) -> String {
    let mut cmd_line: Vec<String> = runner.to_vec();
    if std::env::var("AURORA_VALGRIND").is_ok_and(|v| v == "1") {
        assert!(runner.is_empty(), "valgrind runs the native build only");
        cmd_line.extend(
            [
                "valgrind",
                "--tool=memcheck",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--show-leak-kinds=definite,indirect",
                "--track-origins=yes",
                "--quiet",
            ]
            .map(String::from),
        );
    }
    cmd_line.push(exe.display().to_string());
    cmd_line.extend(args.iter().cloned());
    let output = Command::new(&cmd_line[0])
        .args(&cmd_line[1..])
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=1:halt_on_error=1",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cmd_line[0]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stderr}",
        cmd_line.join(" "),
        output.status
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn c_program_matches_the_rust_router() {
    let Some((cc, runner)) = toolchain_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exe = compile_c(&cc, "route_test.c", dir.path());

    // Queries: every 50th row of the example's MiniLM embeddings.
    let profile = root().join("profiles/mmlu_pro-minilm.json");
    let router = Router::from_path(&profile).unwrap();
    let rows = PrecomputedEmbeddings::load(
        root().join("examples/mmlu_pro/embeddings_minilm.f16.npy"),
        "all-MiniLM-L6-v2",
    )
    .unwrap();
    let picked: Vec<usize> = (0..rows.rows()).step_by(50).collect();
    let mut bytes = Vec::new();
    for &r in &picked {
        bytes.extend(rows.row(r).unwrap().iter().flat_map(|x| x.to_le_bytes()));
    }
    let vectors = dir.path().join("vectors.f32");
    std::fs::write(&vectors, bytes).unwrap();

    let mut args: Vec<String> = vec![
        profile.display().to_string(),
        vectors.display().to_string(),
        picked.len().to_string(),
    ];
    // Text routing through the mock Cactus, where it is linked.
    let texts = prompts(router.cluster_count() + 12);
    let mock = cactus_sys::is_mock().then(|| {
        let path = mock_profile(dir.path(), &texts);
        let list = dir.path().join("texts.txt");
        let queries = &texts[router.cluster_count()..];
        std::fs::write(
            &list,
            queries.iter().map(|t| format!("{t}\n")).collect::<String>(),
        )
        .unwrap();
        args.push(path.display().to_string());
        args.push(list.display().to_string());
        (path, queries.to_vec())
    });

    let stdout = run_c(&runner, &exe, &args);
    let got = parse(&stdout);

    // Same header information as the Rust API.
    let header = format!(
        "dim {} models {} clusters {}",
        router.dim(),
        router.model_count(),
        router.cluster_count()
    );
    assert!(stdout.contains(&header), "{stdout}");
    for (m, info) in router.models().iter().enumerate() {
        assert!(
            stdout.contains(&format!("model {m} {} ", info.name)),
            "{stdout}"
        );
    }

    let check = |kind: char, index: usize, p: f32, d: &aurora_router::route::RouteDecision<'_>| {
        let key = Line {
            kind,
            index,
            pref: (p * 100.0).round() as u32,
        };
        let want = (
            d.model_index() as u32,
            d.cluster() as u32,
            d.similarity().to_bits(),
            d.confidence().to_bits(),
        );
        // Model and cluster must match exactly; the floats within a few ULP
        // (the staticlib is a release build, this test is not, and the
        // embedding goes through a text round trip in the C program).
        let g = got.get(&key).copied();
        let close = |a: u32, b: u32| (f32::from_bits(a) - f32::from_bits(b)).abs() <= 1e-5;
        assert!(
            g.is_some_and(|g| g.0 == want.0
                && g.1 == want.1
                && close(g.2, want.2)
                && close(g.3, want.3)),
            "{key:?}: got {g:?}, want {want:?}"
        );
    };
    for (i, &r) in picked.iter().enumerate() {
        for p in PREFS {
            // The C ABI routes with the profile's recommended assignment.
            let opts = router
                .options()
                .cost_preference(f64::from(p))
                .check()
                .unwrap();
            check(
                'E',
                i,
                p,
                &router.route_embedding(rows.row(r).unwrap(), &opts).unwrap(),
            );
        }
    }
    let mut expected = picked.len() * PREFS.len();
    if let Some((path, queries)) = mock {
        let router = Router::from_path(path).unwrap();
        let e = CactusEmbedder::mock(router.dim()).unwrap();
        for (i, t) in queries.iter().enumerate() {
            for p in PREFS {
                let opts = router
                    .options()
                    .cost_preference(f64::from(p))
                    .check()
                    .unwrap();
                check('T', i, p, &router.route_text(t, &e, &opts).unwrap());
            }
        }
        expected += queries.len() * PREFS.len();
    }
    assert_eq!(got.len(), expected, "{stdout}");
}

#[test]
fn c_program_matches_the_rust_route_set_and_session() {
    use aurora_router::routes::{
        read_examples, RouteSession, RouteSet, RoutesBuilder, RoutesParams,
    };
    use std::sync::Arc;

    let Some((cc, runner)) = toolchain_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exe = compile_c(&cc, "routes_test.c", dir.path());

    // Routes from the committed CLINC150 fixture; queries from its test split.
    let fx = root().join("tests/fixtures/routes");
    let load = |split: &str| {
        let lines = read_examples(fx.join(format!("{split}.jsonl"))).unwrap();
        let e = PrecomputedEmbeddings::load(fx.join(format!("{split}.npy")), "all-MiniLM-L6-v2")
            .unwrap();
        (lines, e)
    };
    let ((e, x), (v, vx), (_, tx)) = (load("train"), load("val"), load("test"));
    let params = RoutesParams::new().check().unwrap();
    let routes = RoutesBuilder::new(params, "all-MiniLM-L6-v2", false)
        .build(&e, x.view(), Some((&v, vx.view())))
        .unwrap();
    let path = dir.path().join("routes.json");
    std::fs::write(&path, routes.to_json().unwrap()).unwrap();
    let n = tx.rows();
    let mut bytes = Vec::new();
    for r in 0..n {
        bytes.extend(tx.row(r).unwrap().iter().flat_map(|x| x.to_le_bytes()));
    }
    let vectors = dir.path().join("vectors.f32");
    std::fs::write(&vectors, bytes).unwrap();

    let args = [
        path.display().to_string(),
        vectors.display().to_string(),
        n.to_string(),
    ];
    let stdout = run_c(&runner, &exe, &args);
    assert!(stdout.ends_with("ok\n"), "{stdout}");
    let routes = RouteSet::from_path(&path).unwrap();
    assert!(stdout.contains(&format!("routes {}\n", routes.len())));
    for (i, name) in routes.names().iter().enumerate() {
        assert!(stdout.contains(&format!("name {i} {name}\n")), "{stdout}");
    }
    let index = |m: &aurora_router::routes::RouteMatch| {
        m.route
            .as_ref()
            .map_or(-1, |r| routes.index_of(r).unwrap() as i64)
    };
    let mut session = RouteSession::new(Arc::new(routes.clone()));
    let mut nones = 0;
    for r in 0..n {
        let row = tx.row(r).unwrap();
        let m = routes.match_embedding(row).unwrap();
        nones += usize::from(m.route.is_none());
        let want = format!(
            "M {r} {} {} {:08x}\n",
            index(&m),
            m.best_index,
            m.score.to_bits()
        );
        assert!(stdout.contains(&want), "missing {want:?} in\n{stdout}");
        let t = session.push_embedding(row).unwrap();
        let want = format!("S {r} {} {}\n", index(&t), t.best_index);
        assert!(stdout.contains(&want), "missing {want:?} in\n{stdout}");
    }
    // The fixture's test split has out-of-scope lines: some rows are "none".
    assert!(nones > 0 && nones < n, "{nones} of {n} rows are none");
}
