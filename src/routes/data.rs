//! Reading the builder's inputs: example JSONL, `{route: …}` maps, dialogues.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::error::RoutesError;

/// One example (or evaluation) line: `{"text", "route"}`; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Example {
    /// The utterance.
    pub text: String,
    /// Its route, or `None` (JSON `null`) for an out-of-scope line.
    pub route: Option<String>,
}

/// One turn of a dialogue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Turn {
    /// `user` or `system`.
    pub speaker: String,
    /// The text.
    pub text: String,
    /// The turn's domains (its label); empty when it has none.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// One dialogue: its turns in order (other fields ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Dialogue {
    /// The turns.
    pub turns: Vec<Turn>,
}

fn read_text(path: &Path) -> Result<String, RoutesError> {
    std::fs::read_to_string(path)
        .map_err(|e| RoutesError::input(&path.display().to_string(), None, e.to_string()))
}

fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, RoutesError> {
    let name = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in read_text(path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(line)
            .map_err(|e| RoutesError::input(&name, Some(i + 1), e.to_string()))?;
        out.push(v);
    }
    Ok(out)
}

/// Reads an examples JSONL file. Every line needs a non-empty `text`; a
/// non-null `route` must not be empty.
pub fn read_examples(path: impl AsRef<Path>) -> Result<Vec<Example>, RoutesError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let v: Vec<Example> = read_jsonl(path)?;
    for (i, e) in v.iter().enumerate() {
        if e.text.trim().is_empty() {
            return Err(RoutesError::input(&name, Some(i + 1), "empty `text`"));
        }
        if e.route.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return Err(RoutesError::input(&name, Some(i + 1), "empty `route` name"));
        }
    }
    Ok(v)
}

/// Reads a dialogues JSONL file (the format of SGD's `dialogues.jsonl`).
pub fn read_dialogues(path: impl AsRef<Path>) -> Result<Vec<Dialogue>, RoutesError> {
    read_jsonl(path.as_ref())
}

struct Pairs<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object {route: value}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    v.push(kv);
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// Reads a `{route: value}` JSON object (descriptions or keywords), keeping
/// the order and rejecting a route named twice.
pub fn read_json_map<V: DeserializeOwned>(
    path: impl AsRef<Path>,
) -> Result<Vec<(String, V)>, RoutesError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = read_text(path)?;
    let Pairs(pairs) = serde_json::from_str::<Pairs<V>>(&text)
        .map_err(|e| RoutesError::input(&name, Some(e.line()), e.to_string()))?;
    let mut seen = BTreeSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.clone()) {
            return Err(RoutesError::DuplicateRoute {
                source_name: name,
                route: k.clone(),
            });
        }
    }
    Ok(pairs)
}
