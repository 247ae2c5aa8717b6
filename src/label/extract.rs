//! Extracting the chosen letter from a model's answer, the way MMLU-Pro's own
//! evaluation does (`evaluate_from_local.py`): first `answer is (X)`, then
//! `Answer: X`, then the last standalone capital letter A–J.
//!
//! Markdown emphasis (`*`) is removed first, so `The answer is **(C)**`
//! counts as a clean `answer is` match (MMLU-Pro's regex would fall back).
//!
//! ```
//! use aurora_router::label::{extract_answer, Extraction};
//! assert_eq!(extract_answer("So the answer is (C)."), Some(('C', Extraction::AnswerIs)));
//! assert_eq!(extract_answer("Answer: B"), Some(('B', Extraction::AnswerColon)));
//! assert_eq!(extract_answer("I'd go with D"), Some(('D', Extraction::LastLetter)));
//! assert_eq!(extract_answer("no idea, sorry"), None);
//! ```

use serde::{Deserialize, Serialize};

/// Which pattern found the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extraction {
    /// `answer is (X)` / `answer is X` (MMLU-Pro's first pattern).
    AnswerIs,
    /// `Answer: X` / `answer: X` (its second pattern).
    AnswerColon,
    /// The last standalone letter A–J (its last resort).
    LastLetter,
}

fn is_choice(c: u8) -> bool {
    (b'A'..=b'J').contains(&c)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The chosen letter (`'A'..='J'`) and the pattern that found it, or `None`
/// when the response names no answer.
pub fn extract_answer(response: &str) -> Option<(char, Extraction)> {
    let text: String = response.chars().filter(|&c| c != '*').collect();
    let b = text.as_bytes();

    // 1. "answer is \(?([A-J])\)?" — the first occurrence.
    let mut from = 0;
    while let Some(i) = text[from..].find("answer is") {
        let mut j = from + i + "answer is".len();
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j < b.len() && b[j] == b'(' {
            j += 1;
        }
        if j < b.len() && is_choice(b[j]) {
            return Some((b[j] as char, Extraction::AnswerIs));
        }
        from = from + i + 1;
    }

    // 2. ".*[aA]nswer:\s*([A-J])" — the last occurrence on the first line
    //    that has one.
    for line in text.split('\n') {
        let lb = line.as_bytes();
        let mut found = None;
        let mut from = 0;
        while let Some(i) = line[from..].find("nswer:") {
            let at = from + i;
            if at > 0 && (lb[at - 1] == b'a' || lb[at - 1] == b'A') {
                let mut j = at + "nswer:".len();
                while j < lb.len() && lb[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < lb.len() && is_choice(lb[j]) {
                    found = Some(lb[j] as char);
                }
            }
            from = at + 1;
        }
        if let Some(c) = found {
            return Some((c, Extraction::AnswerColon));
        }
    }

    // 3. "\b[A-J]\b(?!.*\b[A-J]\b)" — the last standalone letter.
    (0..b.len()).rev().find_map(|i| {
        let standalone = is_choice(b[i])
            && (i == 0 || !is_word(b[i - 1]))
            && (i + 1 == b.len() || !is_word(b[i + 1]));
        standalone.then_some((b[i] as char, Extraction::LastLetter))
    })
}
