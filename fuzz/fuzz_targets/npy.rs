//! The `.npy` reader (`PrecomputedEmbeddings::from_npy_bytes`): float16 /
//! float32 matrices, headers, shapes.
#![no_main]

use std::path::Path;

use aurora_router::embed::PrecomputedEmbeddings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut e) = PrecomputedEmbeddings::from_npy_bytes(data, Path::new("fuzz.npy"), "m") {
        assert_eq!(e.as_slice().len(), e.rows() * e.dim());
        for r in 0..e.rows().min(4) {
            let _ = e.row(r);
        }
        let _ = e.normalize_rows();
    }
});
