//! `.npy` loading: dtypes, shapes and values are checked with clear messages.

mod common;

use aurora_router::embed::{EmbedError, PrecomputedEmbeddings};
use common::{f32_payload, npy_bytes};
use std::path::Path;

fn load(bytes: &[u8]) -> Result<PrecomputedEmbeddings, EmbedError> {
    PrecomputedEmbeddings::from_npy_bytes(bytes, Path::new("e.npy"), "m")
}

fn err(bytes: &[u8]) -> String {
    load(bytes).unwrap_err().to_string()
}

#[test]
fn loads_float32_and_float16() {
    let v = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let e = load(&npy_bytes("<f4", &[2, 3], false, &f32_payload(&v))).unwrap();
    assert_eq!((e.rows(), e.dim()), (2, 3));
    assert_eq!(e.row(1).unwrap(), &[4.0, 5.0, 6.0]);
    let h: Vec<u8> = v
        .iter()
        .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
        .collect();
    let e16 = load(&npy_bytes("<f2", &[3, 2], false, &h)).unwrap();
    assert_eq!(e16.row(2).unwrap(), &[5.0, 6.0]);
}

#[test]
fn loads_the_shipped_example() {
    let p = common::root().join("examples/mmlu_pro/embeddings_minilm.f16.npy");
    let e = PrecomputedEmbeddings::load(&p, "all-MiniLM-L6-v2").unwrap();
    assert_eq!(e.dim(), 384);
    e.check_rows(e.rows()).unwrap();
    let n: f32 = e.row(0).unwrap().iter().map(|x| x * x).sum();
    assert!((n - 1.0).abs() < 1e-2);
}

#[test]
fn rejects_wrong_dtype() {
    let m = err(&npy_bytes("<f8", &[1, 2], false, &[0u8; 16]));
    assert!(m.contains("unsupported dtype <f8"), "{m}");
    let m = err(&npy_bytes("<i4", &[1, 2], false, &[0u8; 8]));
    assert!(m.contains("unsupported dtype"), "{m}");
    let m = err(&npy_bytes(">f4", &[1, 1], false, &[0u8; 4]));
    assert!(m.contains("unsupported dtype >f4"), "{m}");
}

#[test]
fn rejects_wrong_shape() {
    let m = err(&npy_bytes("<f4", &[4], false, &f32_payload(&[1.0; 4])));
    assert!(m.contains("expected a 2-D matrix"), "{m}");
    let m = err(&npy_bytes(
        "<f4",
        &[1, 2, 2],
        false,
        &f32_payload(&[1.0; 4]),
    ));
    assert!(m.contains("expected a 2-D matrix"), "{m}");
    let m = err(&npy_bytes("<f4", &[0, 3], false, &[]));
    assert!(m.contains("empty matrix"), "{m}");
    let m = err(&npy_bytes("<f4", &[2, 2], true, &f32_payload(&[1.0; 4])));
    assert!(m.contains("Fortran"), "{m}");
}

#[test]
fn rejects_truncated_and_garbage() {
    let m = err(&npy_bytes("<f4", &[2, 3], false, &f32_payload(&[1.0; 5])));
    assert!(m.starts_with("e.npy:"), "{m}");
    let m = err(b"not an npy file at all");
    assert!(m.contains("not a valid .npy"), "{m}");
}

#[test]
fn rejects_nan_and_infinity_naming_the_cell() {
    let m = err(&npy_bytes(
        "<f4",
        &[2, 2],
        false,
        &f32_payload(&[1.0, 0.0, 0.0, f32::NAN]),
    ));
    assert!(m.contains("row 1, column 1 is not finite"), "{m}");
    let inf = half::f16::INFINITY.to_le_bytes();
    let payload = [0, 60, inf[0], inf[1]];
    let m = err(&npy_bytes("<f2", &[1, 2], false, &payload));
    assert!(m.contains("row 0, column 1 is not finite"), "{m}");
}

#[test]
fn row_count_must_match_prompts() {
    let e = load(&npy_bytes("<f4", &[2, 2], false, &f32_payload(&[1.0; 4]))).unwrap();
    e.check_rows(2).unwrap();
    let m = e.check_rows(3).unwrap_err().to_string();
    assert!(m.contains("has 2 rows but there are 3 prompts"), "{m}");
    assert!(matches!(
        e.row(2),
        Err(EmbedError::RowOutOfRange { row: 2, rows: 2 })
    ));
}

#[test]
fn zero_rows_cannot_be_normalised() {
    let mut e = load(&npy_bytes(
        "<f4",
        &[2, 2],
        false,
        &f32_payload(&[3.0, 4.0, 0.0, 0.0]),
    ))
    .unwrap();
    let m = e.normalize_rows().unwrap_err().to_string();
    assert!(m.contains("row 1 is a zero vector"), "{m}");
}

#[test]
fn missing_file_names_the_path() {
    let m = PrecomputedEmbeddings::load("/nonexistent/e.npy", "m")
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("/nonexistent/e.npy") && m.contains("cannot read"),
        "{m}"
    );
}

/// Found by `cargo fuzz run npy` (tests/fuzz_regressions): a header with 24
/// nested `[` made the header parser run for minutes. Refused at once now,
/// as are nested parentheses, headers over 64 KiB and shapes larger than
/// the data.
#[test]
fn hostile_headers_are_refused_quickly() {
    let path = common::root().join("tests/fuzz_regressions/npy-nested-header-timeout.npy");
    let msg = err(&std::fs::read(path).unwrap());
    assert!(msg.contains("structured"), "{msg}");
    let mut nested = npy_bytes("<f4", &[1, 1], false, &f32_payload(&[1.0]));
    let at = nested.iter().position(|&b| b == b'(').unwrap();
    nested.splice(at..at, b"((((".iter().copied());
    assert!(
        err(&nested).contains("malformed header"),
        "{}",
        err(&nested)
    );
    let mut long = b"\x93NUMPY\x02\x00".to_vec();
    long.extend_from_slice(&(1u32 << 20).to_le_bytes());
    assert!(err(&long).contains("header of"), "{}", err(&long));
    let huge = npy_bytes("<f4", &[1 << 20, 1 << 20], false, &f32_payload(&[1.0; 4]));
    assert!(err(&huge).contains("truncated"), "{}", err(&huge));
    // Found by `cargo fuzz run npy`: a shape whose element count overflows
    // 64 bits panicked (overflow) inside the header parser.
    let path = common::root().join("tests/fuzz_regressions/npy-shape-overflow-crash.npy");
    let msg = err(&std::fs::read(path).unwrap());
    assert!(msg.contains("2^64"), "{msg}");
    // The same with `+16`: shape entries must be plain decimal integers.
    let path = common::root().join("tests/fuzz_regressions/npy-shape-plus-sign-crash.npy");
    let msg = err(&std::fs::read(path).unwrap());
    assert!(msg.contains("decimal integer"), "{msg}");
}
