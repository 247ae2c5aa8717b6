//! The offline readers of user files: prompts JSONL, results CSV, models
//! JSON, routes examples / dialogues / JSON maps, template pairs and
//! dialogue pairs. The first byte picks the reader; the rest is the file.
#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;

use aurora_router::data::{read_models, read_prompts, read_results};
use aurora_router::routes::{read_dialogues, read_examples, read_json_map};
use aurora_router::templates::{read_dialogue_pairs, read_pairs};
use libfuzzer_sys::fuzz_target;

const PROMPTS: &[u8] = br#"{"id": 1, "text": "a"}
{"id": "b", "text": "b", "category": "x"}
"#;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let path = common::scratch("input");
    std::fs::write(&path, body).expect("scratch file");
    match which % 8 {
        0 => {
            let _ = read_prompts(&path);
        }
        1 => {
            // Results against two known prompts.
            let p = common::scratch("prompts.jsonl");
            if !p.exists() {
                std::fs::write(&p, PROMPTS).expect("scratch file");
            }
            let prompts = read_prompts(&p).expect("fixed prompts");
            let _ = read_results(&path, &prompts);
        }
        2 => {
            let _ = read_models(&path);
        }
        3 => {
            let _ = read_examples(&path);
        }
        4 => {
            let _ = read_dialogues(&path);
        }
        5 => {
            let _ = read_json_map::<String>(&path);
            let _ = read_json_map::<Vec<String>>(&path);
            let _ = read_json_map::<BTreeMap<String, f64>>(&path);
        }
        6 => {
            let _ = read_pairs(&path);
        }
        _ => {
            let _ = read_dialogue_pairs(&path);
        }
    }
});
