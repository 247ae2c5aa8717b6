//! Evaluation of a route set on labelled lines and on dialogues.

use std::collections::BTreeMap;

use ndarray::ArrayView2;
use serde::Serialize;

use super::data::{Dialogue, Example};
use super::error::RoutesError;
use super::session::RouteSession;
use super::set::{RouteMatch, RouteSet};

/// Per-route figures of a prompt evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStats {
    /// In-scope lines of this route.
    pub n: usize,
    /// Of those, the fraction routed to it (threshold applied).
    pub recall: f64,
    /// Of the lines routed to it, the fraction that belong to it (`null` if none).
    pub precision: Option<f64>,
}

/// The figures of `aurora routes eval --prompts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptEval {
    /// Lines.
    pub n: usize,
    /// Best route ignoring the threshold, over in-scope lines.
    pub closed_set_accuracy: Option<f64>,
    /// In-scope lines routed to their own route (none is wrong).
    pub in_scope_accuracy: Option<f64>,
    /// Out-of-scope lines that get none.
    pub oos_recall: Option<f64>,
    /// Of the lines that get none, the fraction out of scope.
    pub oos_precision: Option<f64>,
    /// Area under the ROC of the score separating in-scope (high) from out-of-scope lines.
    pub auroc: Option<f64>,
    /// Per-route figures.
    pub per_route: BTreeMap<String, RouteStats>,
}

/// The figures of `aurora routes eval --dialogues`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DialogueEval {
    /// Scored user turns.
    pub turns: usize,
    /// Accuracy of each turn routed alone (threshold applied).
    pub stateless_accuracy: f64,
    /// Accuracy with a [`RouteSession`] per dialogue.
    pub session_accuracy: f64,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Mann–Whitney AUROC of `pos` above `neg` (ties count half).
fn auroc(pos: &[f32], neg: &[f32]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = pos.iter().map(|&s| (s, true)).collect();
    all.extend(neg.iter().map(|&s| (s, false)));
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * all[i..j].iter().filter(|a| a.1).count() as f64;
        i = j;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Matches every labelled line (row `i` of `embeddings` = line `i`): the
/// line's route index (`None` = out of scope) and the match. A line naming
/// a route the set does not have is [`RoutesError::UnknownRoute`].
pub fn match_labelled(
    routes: &RouteSet,
    lines: &[Example],
    embeddings: ArrayView2<f32>,
    source_name: &str,
) -> Result<Vec<(Option<usize>, RouteMatch)>, RoutesError> {
    if embeddings.nrows() != lines.len() {
        return Err(RoutesError::input(
            source_name,
            None,
            format!(
                "{} embedding rows for {} lines",
                embeddings.nrows(),
                lines.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, (line, row)) in lines.iter().zip(embeddings.rows()).enumerate() {
        let label = match &line.route {
            None => None,
            Some(r) => Some(
                routes
                    .index_of(r)
                    .ok_or_else(|| RoutesError::UnknownRoute {
                        source_name: source_name.into(),
                        line: i + 1,
                        route: r.clone(),
                    })?,
            ),
        };
        let v: Vec<f32> = row.to_vec();
        out.push((label, routes.match_embedding(&v)?));
    }
    Ok(out)
}

/// Evaluates `routes` on labelled lines (row i of `embeddings` = line i).
/// A line naming a route the set does not have is an error.
pub fn evaluate_prompts(
    routes: &RouteSet,
    lines: &[Example],
    embeddings: ArrayView2<f32>,
    source_name: &str,
) -> Result<PromptEval, RoutesError> {
    let k = routes.len();
    let (mut n_in, mut closed, mut in_ok, mut n_oos, mut oos_none, mut none) = (0, 0, 0, 0, 0, 0);
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    let mut per_n = vec![0usize; k];
    let mut per_hit = vec![0usize; k];
    let mut per_pred = vec![0usize; k];
    for (label, m) in match_labelled(routes, lines, embeddings, source_name)? {
        let routed = m.route.is_some().then_some(m.best_index);
        if let Some(p) = routed {
            per_pred[p] += 1;
        } else {
            none += 1;
        }
        match label {
            Some(c) => {
                n_in += 1;
                per_n[c] += 1;
                pos.push(m.in_scope_score);
                closed += usize::from(m.best_index == c);
                if routed == Some(c) {
                    in_ok += 1;
                    per_hit[c] += 1;
                }
            }
            None => {
                n_oos += 1;
                neg.push(m.in_scope_score);
                oos_none += usize::from(routed.is_none());
            }
        }
    }
    let per_route = (0..k)
        .filter(|&c| per_n[c] > 0)
        .map(|c| {
            (
                routes.names()[c].clone(),
                RouteStats {
                    n: per_n[c],
                    recall: per_hit[c] as f64 / per_n[c] as f64,
                    precision: ratio(per_hit[c], per_pred[c]),
                },
            )
        })
        .collect();
    Ok(PromptEval {
        n: lines.len(),
        closed_set_accuracy: ratio(closed, n_in),
        in_scope_accuracy: ratio(in_ok, n_in),
        oos_recall: ratio(oos_none, n_oos),
        oos_precision: if n_oos > 0 {
            ratio(oos_none, none)
        } else {
            None
        },
        auroc: auroc(&pos, &neg),
        per_route,
    })
}

/// Evaluates `routes` on dialogues: `embeddings` has one row per turn of
/// every dialogue, in file order. User turns are routed in order (alone and
/// with a session per dialogue); a turn with empty `domains` is routed but
/// not scored, and a turn is right when its route is any of its domains.
pub fn evaluate_dialogues(
    routes: &RouteSet,
    dialogues: &[Dialogue],
    embeddings: ArrayView2<f32>,
    source_name: &str,
) -> Result<DialogueEval, RoutesError> {
    let total: usize = dialogues.iter().map(|d| d.turns.len()).sum();
    if embeddings.nrows() != total {
        return Err(RoutesError::input(
            source_name,
            None,
            format!("{} embedding rows for {total} turns", embeddings.nrows()),
        ));
    }
    let routes = std::sync::Arc::new(routes.clone());
    let (mut turns, mut stateless, mut session) = (0usize, 0usize, 0usize);
    let mut row = 0;
    for d in dialogues {
        let mut s = RouteSession::new(routes.clone());
        for t in &d.turns {
            let v: Vec<f32> = embeddings.row(row).to_vec();
            row += 1;
            if t.speaker != "user" {
                continue;
            }
            let alone = routes.match_embedding(&v)?;
            let ctx = s.push_embedding(&v)?;
            if t.domains.is_empty() {
                continue;
            }
            turns += 1;
            let hit = |r: &Option<String>| r.as_ref().is_some_and(|r| t.domains.contains(r));
            stateless += usize::from(hit(&alone.route));
            session += usize::from(hit(&ctx.route));
        }
    }
    Ok(DialogueEval {
        turns,
        stateless_accuracy: ratio(stateless, turns).unwrap_or(0.0),
        session_accuracy: ratio(session, turns).unwrap_or(0.0),
    })
}
