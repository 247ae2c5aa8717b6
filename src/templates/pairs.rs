//! Incoming → response pairs, from a pairs JSONL file or from dialogues.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TemplateError;

/// One incoming message and the reply it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    /// The incoming message.
    pub incoming: String,
    /// The reply.
    pub response: String,
    /// The reply's label (SGD dialogue acts), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acts: Option<Vec<String>>,
    /// Any other fields of the line, kept as they were.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Pairs with the rows of their texts in an embedding matrix.
///
/// For a pairs file, row `2i` embeds pair `i`'s incoming message and row
/// `2i + 1` its response. For a dialogues file, the rows are every turn of
/// every dialogue in file order, and each pair points at its two turns.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSet {
    /// Where the pairs came from (for messages).
    pub source: String,
    /// The pairs.
    pub pairs: Vec<Pair>,
    /// Row of each pair's incoming message.
    pub incoming_rows: Vec<usize>,
    /// Row of each pair's response.
    pub response_rows: Vec<usize>,
    /// Number of rows an embedding matrix for this file must have.
    pub rows: usize,
    /// The text of every row (for a dialogues file, every turn).
    pub row_texts: Vec<String>,
}

impl PairSet {
    /// Builds from in-memory pairs (rows `2i`, `2i + 1`); checks them.
    pub fn from_pairs(source: &str, pairs: Vec<Pair>) -> Result<Self, TemplateError> {
        if pairs.is_empty() {
            return Err(TemplateError::EmptyPairs(source.to_string()));
        }
        for (i, p) in pairs.iter().enumerate() {
            for (field, t) in [("incoming", &p.incoming), ("response", &p.response)] {
                if t.trim().is_empty() {
                    return Err(TemplateError::Line {
                        path: source.to_string(),
                        line: i + 1,
                        reason: format!("`{field}` is empty"),
                    });
                }
            }
        }
        let n = pairs.len();
        let row_texts = pairs
            .iter()
            .flat_map(|p| [p.incoming.clone(), p.response.clone()])
            .collect();
        Ok(PairSet {
            source: source.to_string(),
            pairs,
            incoming_rows: (0..n).map(|i| 2 * i).collect(),
            response_rows: (0..n).map(|i| 2 * i + 1).collect(),
            rows: 2 * n,
            row_texts,
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs (never true for a checked set).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

fn read(path: &Path) -> Result<String, TemplateError> {
    std::fs::read_to_string(path).map_err(|e| TemplateError::Io {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })
}

/// Reads a pairs JSONL file: one `{"incoming", "response", …}` per line
/// (blank lines skipped; other fields kept in [`Pair::extra`]).
pub fn read_pairs(path: impl AsRef<Path>) -> Result<PairSet, TemplateError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = read(path)?;
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let p: Pair = serde_json::from_str(line).map_err(|e| TemplateError::Line {
            path: name.clone(),
            line: i + 1,
            reason: format!("not a {{\"incoming\", \"response\"}} object: {e}"),
        })?;
        for (field, t) in [("incoming", &p.incoming), ("response", &p.response)] {
            if t.trim().is_empty() {
                return Err(TemplateError::Line {
                    path: name.clone(),
                    line: i + 1,
                    reason: format!("`{field}` is empty"),
                });
            }
        }
        pairs.push(p);
    }
    PairSet::from_pairs(&name, pairs)
}

#[derive(Deserialize)]
struct Dialogue {
    turns: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    speaker: String,
    text: String,
    #[serde(default)]
    acts: Option<Vec<String>>,
}

/// Reads a dialogues JSONL file (the format of `shared/data/sgd/dialogues.jsonl`)
/// and takes each user turn → the next turn when it is the system's, with
/// the system turn's `acts` as the pair's label.
pub fn read_dialogue_pairs(path: impl AsRef<Path>) -> Result<PairSet, TemplateError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = read(path)?;
    let mut set = PairSet {
        source: name.clone(),
        pairs: Vec::new(),
        incoming_rows: Vec::new(),
        response_rows: Vec::new(),
        rows: 0,
        row_texts: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: Dialogue = serde_json::from_str(line).map_err(|e| TemplateError::Line {
            path: name.clone(),
            line: i + 1,
            reason: format!("not a dialogue {{\"turns\": [{{\"speaker\", \"text\"}}…]}}: {e}"),
        })?;
        let base = set.rows;
        for (t, turn) in d.turns.iter().enumerate() {
            if turn.speaker != "user" && turn.speaker != "system" {
                return Err(TemplateError::Line {
                    path: name.clone(),
                    line: i + 1,
                    reason: format!(
                        "turn {t}: speaker must be \"user\" or \"system\", got {:?}",
                        turn.speaker
                    ),
                });
            }
            set.row_texts.push(turn.text.clone());
            let Some(next) = d.turns.get(t + 1) else {
                continue;
            };
            if turn.speaker != "user" || next.speaker != "system" {
                continue;
            }
            if turn.text.trim().is_empty() || next.text.trim().is_empty() {
                return Err(TemplateError::Line {
                    path: name.clone(),
                    line: i + 1,
                    reason: format!("turn {} or {} has empty text", t, t + 1),
                });
            }
            set.pairs.push(Pair {
                incoming: turn.text.clone(),
                response: next.text.clone(),
                acts: next.acts.clone(),
                extra: serde_json::Map::new(),
            });
            set.incoming_rows.push(base + t);
            set.response_rows.push(base + t + 1);
        }
        set.rows += d.turns.len();
    }
    if set.pairs.is_empty() {
        return Err(TemplateError::EmptyPairs(name));
    }
    Ok(set)
}
