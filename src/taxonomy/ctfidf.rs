//! Class-based TF-IDF (c-TF-IDF, as in BERTopic): the words that make one
//! class of documents different from the other classes.
//!
//! All documents of a class are joined into one class document. For a term
//! `t` and class `c`:
//!
//! `W(t, c) = tf(t, c) / |c| · ln(1 + A / f(t))`
//!
//! where `tf(t, c)` is the count of `t` in class `c`, `|c|` the number of
//! tokens of class `c` (BERTopic's L1 row normalisation), `A` the average
//! number of tokens per class and `f(t)` the count of `t` over all classes.
//! A taxonomy scores each node against its siblings (the other classes), so
//! a node's keywords say what sets it apart *within its parent*.
//!
//! Tokens: lowercase runs of letters and digits, at least 3 characters, not
//! purely digits, not an English stop word. Ties are broken alphabetically,
//! so the result is deterministic.
//!
//! ```
//! use aurora_router::taxonomy::ctfidf::keywords;
//! let classes = vec![
//!     vec!["the derivative of a polynomial", "integrate the polynomial"],
//!     vec!["the court ruled on the contract", "a contract dispute in court"],
//! ];
//! let kw = keywords(&classes, 2);
//! assert_eq!(kw[0], vec!["polynomial", "derivative"]);
//! assert_eq!(kw[1], vec!["contract", "court"]);
//! ```

use std::collections::{BTreeMap, HashMap};

/// English stop words dropped from the vocabulary.
pub const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "following",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "into",
    "its",
    "itself",
    "just",
    "may",
    "might",
    "more",
    "most",
    "must",
    "not",
    "now",
    "off",
    "once",
    "only",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "too",
    "under",
    "until",
    "use",
    "used",
    "very",
    "was",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "one",
    "two",
    "given",
    "answer",
    "question",
    "true",
    "false",
    "statement",
    "statements",
    "following",
    "which",
    "best",
    "describes",
];

/// Splits a text into c-TF-IDF tokens (see the module docs).
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// c-TF-IDF scores: one map term → weight per class.
pub fn scores<S: AsRef<str>>(classes: &[Vec<S>]) -> Vec<HashMap<String, f64>> {
    let counts: Vec<BTreeMap<String, f64>> = classes
        .iter()
        .map(|docs| {
            let mut m = BTreeMap::new();
            for d in docs {
                for t in tokenize(d.as_ref()) {
                    *m.entry(t).or_insert(0.0) += 1.0;
                }
            }
            m
        })
        .collect();
    let mut total: HashMap<&str, f64> = HashMap::new();
    let mut all_tokens = 0.0;
    for m in &counts {
        for (t, &c) in m {
            *total.entry(t.as_str()).or_insert(0.0) += c;
            all_tokens += c;
        }
    }
    let avg = if classes.is_empty() {
        0.0
    } else {
        all_tokens / classes.len() as f64
    };
    counts
        .iter()
        .map(|m| {
            let len: f64 = m.values().sum();
            m.iter()
                .map(|(t, &c)| {
                    let idf = (1.0 + avg / total[t.as_str()]).ln();
                    (t.clone(), c / len.max(1.0) * idf)
                })
                .collect()
        })
        .collect()
}

/// The `top` highest-scoring c-TF-IDF terms of each class, best first.
pub fn keywords<S: AsRef<str>>(classes: &[Vec<S>], top: usize) -> Vec<Vec<String>> {
    scores(classes)
        .into_iter()
        .map(|m| {
            let mut v: Vec<(String, f64)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.into_iter().take(top).map(|(t, _)| t).collect()
        })
        .collect()
}
