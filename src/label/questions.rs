//! Multiple-choice questions (MMLU-Pro's format) and the prompt built from
//! them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::LabelError;

/// Most options a question may have (A–J, as in MMLU-Pro).
pub const MAX_OPTIONS: usize = 10;

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McQuestion {
    /// The `id` (a string or an integer in the file), as written in the CSV.
    pub id: String,
    /// The question text (`question`, or `text`).
    pub question: String,
    /// The options, in letter order (2 to 10).
    pub options: Vec<String>,
    /// Index of the correct option (`answer_index`, or the letter `answer`).
    pub answer: usize,
    /// The subject (`category`), if given.
    pub category: Option<String>,
}

impl McQuestion {
    /// The correct letter.
    pub fn answer_letter(&self) -> char {
        (b'A' + self.answer as u8) as char
    }

    /// The user message sent to the model: MMLU-Pro's zero-shot
    /// chain-of-thought prompt.
    ///
    /// ```
    /// use aurora_router::label::McQuestion;
    /// let q = McQuestion { id: "1".into(), question: "2+2?".into(),
    ///     options: vec!["3".into(), "4".into()], answer: 1, category: None };
    /// assert!(q.prompt().contains("Question: 2+2?\nOptions:\nA. 3\nB. 4\n"));
    /// ```
    pub fn prompt(&self) -> String {
        let subject = self.category.as_deref().unwrap_or("general knowledge");
        let mut s = format!(
            "The following is a multiple choice question about {subject}. Think step by step \
             and then finish your answer with \"the answer is (X)\" where X is the correct \
             letter choice.\n\nQuestion: {}\nOptions:\n",
            self.question.trim()
        );
        for (i, o) in self.options.iter().enumerate() {
            s.push_str(&format!("{}. {}\n", (b'A' + i as u8) as char, o.trim()));
        }
        s.push_str("Answer: Let's think step by step.");
        s
    }
}

fn bad(path: &Path, line: usize, field: &'static str, reason: impl Into<String>) -> LabelError {
    LabelError::Question {
        path: path.to_path_buf(),
        line,
        field,
        reason: reason.into(),
    }
}

/// Reads a JSONL file of multiple-choice questions: one object per line
/// with `id`, `question` (or `text`), `options` (2–10 strings) and the
/// correct answer as `answer` (a letter) or `answer_index`; `category` is
/// optional. Every line must be a multiple-choice question.
pub fn read_mc_questions(path: &Path) -> Result<Vec<McQuestion>, LabelError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: PathBuf::from(path),
        source,
    })?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| bad(path, n, "", format!("invalid JSON: {e}")))?;
        let id = match v.get("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(x)) => x.to_string(),
            _ => return Err(bad(path, n, "id", "missing (a string or a number)")),
        };
        if !seen.insert(id.clone()) {
            return Err(bad(path, n, "id", format!("duplicate id {id}")));
        }
        let question = v
            .get("question")
            .or_else(|| v.get("text"))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                bad(
                    path,
                    n,
                    "question",
                    "missing or empty (`question` or `text`)",
                )
            })?
            .to_string();
        let options: Vec<String> =
            match v.get("options") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|o| o.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(path, n, "options", "must be strings"))?,
                _ => return Err(bad(
                    path,
                    n,
                    "options",
                    "missing: `aurora label` needs multiple-choice questions (question + options)",
                )),
            };
        if !(2..=MAX_OPTIONS).contains(&options.len()) {
            return Err(bad(
                path,
                n,
                "options",
                format!("has {} options, expected 2..={MAX_OPTIONS}", options.len()),
            ));
        }
        let answer = if let Some(ix) = v.get("answer_index").and_then(Value::as_u64) {
            ix as usize
        } else if let Some(l) = v.get("answer").and_then(Value::as_str) {
            let l = l.trim().as_bytes();
            if l.len() != 1 || !l[0].is_ascii_uppercase() {
                return Err(bad(path, n, "answer", "must be one capital letter"));
            }
            (l[0] - b'A') as usize
        } else {
            return Err(bad(
                path,
                n,
                "answer",
                "missing (`answer` letter or `answer_index`)",
            ));
        };
        if answer >= options.len() {
            return Err(bad(
                path,
                n,
                "answer",
                format!("points past the {} options", options.len()),
            ));
        }
        out.push(McQuestion {
            id,
            question,
            options,
            answer,
            category: v
                .get("category")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    if out.is_empty() {
        return Err(bad(path, 0, "", "no questions"));
    }
    Ok(out)
}
