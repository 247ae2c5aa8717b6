//! Golden mock vectors: exact f32 bit patterns, identical on x86-64 and
//! aarch64 (run `cargo test -p cactus-sys --target aarch64-unknown-linux-gnu`
//! under qemu to check the latter).
//!
//! To regenerate after a deliberate change of the mock's embedding:
//! `cargo test -p cactus-sys --test golden -- --ignored --nocapture print_goldens`.

use cactus_sys::{CactusModel, MOCK_DEFAULT_MODEL};

/// FNV-1a 64 over the little-endian bytes of every component's bit pattern.
fn checksum(v: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for x in v {
        for b in x.to_bits().to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// The first 8 non-zero components as (index, bit pattern): hashed
/// features are sparse, so the first 8 components are mostly 0.
fn first_nonzero(v: &[f32]) -> Vec<(usize, u32)> {
    v.iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .take(8)
        .map(|(i, x)| (i, x.to_bits()))
        .collect()
}

struct Golden {
    text: &'static str,
    normalize: bool,
    first8: [(usize, u32); 8],
    checksum: u64,
}

const TEXTS: [(&str, bool); 5] = [
    ("hello world", true),
    ("How do I reset my password?", true),
    ("Grüße aus München — 東京タワー 🚀", true),
    ("The quick brown fox jumps over the lazy dog.", true),
    ("The quick brown fox jumps over the lazy dog.", false),
];

const GOLDENS: [Golden; 5] = [
    Golden {
        text: "hello world",
        normalize: true,
        first8: [
            (17, 0x3e13cd3a),
            (51, 0x3e93cd3a),
            (80, 0x3e13cd3a),
            (93, 0x3e13cd3a),
            (105, 0x3e13cd3a),
            (118, 0x3e13cd3a),
            (119, 0x3e13cd3a),
            (126, 0x3e13cd3a),
        ],
        checksum: 0x2510a50b59bee20f,
    },
    Golden {
        text: "How do I reset my password?",
        normalize: true,
        first8: [
            (2, 0x3dabdd46),
            (14, 0x3dabdd46),
            (33, 0x3dabdd46),
            (41, 0xbdabdd46),
            (55, 0x3dabdd46),
            (65, 0xbdabdd46),
            (70, 0x3dabdd46),
            (77, 0x3dabdd46),
        ],
        checksum: 0xeb505c2030a20891,
    },
    Golden {
        text: "Grüße aus München — 東京タワー 🚀",
        normalize: true,
        first8: [
            (28, 0xbdbc889f),
            (41, 0xbdbc889f),
            (45, 0xbdbc889f),
            (58, 0x3dbc889f),
            (64, 0xbdbc889f),
            (71, 0xbdbc889f),
            (100, 0xbdbc889f),
            (115, 0xbdbc889f),
        ],
        checksum: 0xbf4a6aefa650c0dd,
    },
    Golden {
        text: "The quick brown fox jumps over the lazy dog.",
        normalize: true,
        first8: [
            (11, 0x3dc1848f),
            (13, 0xbe08d677),
            (17, 0x3d88d677),
            (23, 0x3d88d677),
            (28, 0x3d88d677),
            (29, 0xbd88d677),
            (31, 0xbd88d677),
            (37, 0x3d88d677),
        ],
        checksum: 0x89be914406e40c5a,
    },
    Golden {
        text: "The quick brown fox jumps over the lazy dog.",
        normalize: false,
        first8: [
            (11, 0x3eb504f3),
            (13, 0xbf000000),
            (17, 0x3e800000),
            (23, 0x3e800000),
            (28, 0x3e800000),
            (29, 0xbe800000),
            (31, 0xbe800000),
            (37, 0x3e800000),
        ],
        checksum: 0x51d77e5b7ecb7d53,
    },
];

#[test]
fn mock_vectors_match_goldens() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    for (g, (text, normalize)) in GOLDENS.iter().zip(TEXTS) {
        assert_eq!(
            (g.text, g.normalize),
            (text, normalize),
            "TEXTS and GOLDENS out of sync"
        );
        let v = model.embed(g.text, g.normalize).unwrap();
        assert_eq!(v.len(), 384);
        assert_eq!(
            first_nonzero(&v),
            g.first8.to_vec(),
            "first components of {:?}",
            g.text
        );
        assert_eq!(checksum(&v), g.checksum, "checksum of {:?}", g.text);
    }
}

#[test]
#[ignore = "prints the golden table for regeneration"]
fn print_goldens() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    for (text, normalize) in TEXTS {
        let v = model.embed(text, normalize).unwrap();
        let first8: Vec<String> = first_nonzero(&v)
            .iter()
            .map(|(i, b)| format!("({i}, 0x{b:08x})"))
            .collect();
        println!(
            "    Golden {{\n        text: {text:?},\n        normalize: {normalize},\n        first8: [{}],\n        checksum: 0x{:016x},\n    }},",
            first8.join(", "),
            checksum(&v)
        );
    }
}
