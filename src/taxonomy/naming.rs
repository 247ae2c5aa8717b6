//! Naming nodes: c-TF-IDF keywords against siblings, representative items
//! chosen by maximal marginal relevance (MMR), and optional generated labels.

use ndarray::ArrayView2;

/// Up to `count` representatives among `members` (row indices of `x`, whose
/// rows are unit-norm): the 50 closest to `centroid` are candidates, then
/// MMR picks greedily `argmax λ·cos(i, centroid) − (1 − λ)·max_j cos(i, j)`
/// over already-picked `j`, with λ = 0.7; near-duplicates (cos > 0.999 to a
/// picked item) are skipped, so fewer than `count` may come back.
/// Ties go to the lower row index.
pub fn mmr_representatives(
    x: ArrayView2<'_, f32>,
    members: &[usize],
    centroid: &[f32],
    count: usize,
) -> Vec<usize> {
    const LAMBDA: f32 = 0.7;
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
    let row = |i: usize| x.row(i).to_vec();
    let mut cand: Vec<(usize, f32)> = members
        .iter()
        .map(|&i| (i, dot(&row(i), centroid)))
        .collect();
    cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    cand.truncate(50);
    let rows: Vec<Vec<f32>> = cand.iter().map(|&(i, _)| row(i)).collect();
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < count.min(cand.len()) {
        let mut best: Option<(usize, f32)> = None;
        for (ci, &(_, rel)) in cand.iter().enumerate() {
            if picked.contains(&ci) {
                continue;
            }
            let red = picked
                .iter()
                .map(|&pj| dot(&rows[ci], &rows[pj]))
                .fold(f32::NEG_INFINITY, f32::max);
            if red > 0.999 {
                continue; // a near-duplicate of a picked item
            }
            let red = if picked.is_empty() { 0.0 } else { red };
            let s = LAMBDA * rel - (1.0 - LAMBDA) * red;
            if best.is_none_or(|(_, bs)| s > bs) {
                best = Some((ci, s));
            }
        }
        match best {
            Some((ci, _)) => picked.push(ci),
            None => break,
        }
    }
    picked.into_iter().map(|ci| cand[ci].0).collect()
}

/// The name made from keywords: the first three, joined by " · ".
pub fn keyword_name(keywords: &[String]) -> String {
    if keywords.is_empty() {
        return "(unnamed)".into();
    }
    keywords
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The chat messages asking a generation model for a 2–5 word label of a
/// node, from its representative texts and its parent's name.
pub fn label_prompt(parent_name: &str, keywords: &[String], texts: &[&str]) -> String {
    let mut user = format!(
        "These questions form one topic inside the broader topic \"{parent_name}\". Keywords: {}.\n",
        keywords.join(", ")
    );
    for t in texts {
        let short: String = t.chars().take(300).collect();
        user.push_str(&format!("- {short}\n"));
    }
    user.push_str("Reply with a 2 to 5 word label for this topic, nothing else.");
    serde_json::json!([
        {"role": "system", "content": "You name clusters of questions with short topic labels."},
        {"role": "user", "content": user},
    ])
    .to_string()
}

/// Cleans a generated completion into a 2–5 word label: first line, quotes
/// and trailing punctuation removed, at most 5 words. `None` when fewer than
/// one word remains.
pub fn clean_label(raw: &str) -> Option<String> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_matches(|c: char| c == '"' || c == '\'' || c == '.' || c == '*');
    let words: Vec<&str> = line.split_whitespace().take(5).collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Asks a generation model for a 2–5 word label of every non-root node,
/// parents before children (pre-order), each prompt carrying the parent's
/// label (or name) and up to 5 representative texts. `complete` maps chat
/// messages (JSON) to the completion text. `text_of` maps an item id to its
/// text. A completion that cleans to nothing leaves the node unlabelled.
pub fn label_nodes(
    tree: &mut super::Taxonomy,
    text_of: &dyn Fn(&str) -> Option<String>,
    complete: &mut dyn FnMut(&str) -> Result<String, String>,
    model: &str,
    is_mock: bool,
) -> Result<(), super::TaxonomyError> {
    for i in 1..tree.nodes.len() {
        let parent = tree.nodes[i].parent.unwrap_or(0);
        let parent_name = tree.nodes[parent]
            .label
            .as_ref()
            .map(|l| l.text.clone())
            .unwrap_or_else(|| tree.nodes[parent].name.clone());
        let texts: Vec<String> = tree.nodes[i]
            .representatives
            .iter()
            .take(5)
            .filter_map(|id| text_of(id))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let prompt = label_prompt(&parent_name, &tree.nodes[i].keywords, &refs);
        let raw = complete(&prompt).map_err(|e| super::TaxonomyError::Input {
            path: model.into(),
            line: 0,
            reason: format!("completion for node {i} failed: {e}"),
        })?;
        tree.nodes[i].label = clean_label(&raw).map(|text| super::section::GeneratedLabel {
            text,
            model: model.to_string(),
            is_mock,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmr_skips_duplicates() {
        let x = ndarray::array![[1.0f32, 0.0], [1.0, 0.0], [0.8, 0.6], [0.0, 1.0]];
        let reps = mmr_representatives(x.view(), &[0, 1, 2, 3], &[1.0, 0.0], 2);
        assert_eq!(reps, vec![0, 2]);
    }

    #[test]
    fn labels_are_cleaned() {
        assert_eq!(
            clean_label("\"Money word problems.\"\nmore").as_deref(),
            Some("Money word problems")
        );
        assert_eq!(clean_label("  \n"), None);
    }
}
