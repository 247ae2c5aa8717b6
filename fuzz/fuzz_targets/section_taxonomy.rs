//! The `taxonomy` section from its JSON: parse + validate never panic; a valid
//! section survives write → read (sealed).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check_section::<aurora_router::taxonomy::Taxonomy>(data));
