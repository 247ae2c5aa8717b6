//! Evaluation on held-out pairs: act precision of the matched template's
//! reply, and the retrieval baseline.

use ndarray::{s, ArrayView2};
use serde::Serialize;

use super::{curve, CurvePoint, TemplateError, TemplateSet};

/// `(score, correct)` for each evaluated pair.
pub type Scored = Vec<(f32, bool)>;

/// The report of `aurora templates eval --json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Number of held-out pairs.
    pub pairs: usize,
    /// Number of templates.
    pub templates: usize,
    /// The set's threshold (calibrated or given).
    pub threshold: f32,
    /// Fraction of pairs whose best template clears the threshold.
    pub coverage: f32,
    /// Act precision among those.
    pub act_precision: f32,
    /// Coverage / precision from full coverage down to 10 %.
    pub curve: Vec<CurvePoint>,
    /// The retrieval baseline's curve, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineReport>,
}

/// The retrieval baseline's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// Number of training pairs (= templates of the baseline).
    pub pairs: usize,
    /// Its coverage / precision curve.
    pub curve: Vec<CurvePoint>,
}

fn same_acts(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a.dedup();
    b.dedup();
    a == b
}

/// Scores every query (row of `queries`, made by the set's serving model)
/// against `set`: its best template's score, and whether that template's
/// `response_acts` equal the query's true `acts`.
pub fn evaluate(
    set: &TemplateSet,
    queries: ArrayView2<'_, f32>,
    acts: &[Option<Vec<String>>],
) -> Result<Scored, TemplateError> {
    if queries.nrows() == 0 {
        return Err(TemplateError::EmptyPairs("evaluation pairs".into()));
    }
    if let Some(i) = (0..set.len()).find(|&i| set.template(i).response_acts.is_none()) {
        return Err(TemplateError::MissingLabel {
            what: "templates (mine from --dialogues or pairs with `acts`)".into(),
            index: i,
        });
    }
    let mut out = Vec::with_capacity(queries.nrows());
    for (i, q) in queries.rows().into_iter().enumerate() {
        let truth = acts
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| TemplateError::MissingLabel {
                what: "evaluation pairs".into(),
                index: i,
            })?;
        let q = q.to_vec();
        let m = set.match_embedding(&q)?;
        let t = set.template(m.template);
        let ok = t
            .response_acts
            .as_deref()
            .is_some_and(|a| same_acts(a, &truth));
        out.push((m.score, ok));
    }
    Ok(out)
}

/// The retrieval baseline: every training pair is a template; a query gets
/// the response of its most similar training incoming message. `train` and
/// `queries` are L2-normalised rows of the same model.
pub fn retrieval_baseline(
    train: ArrayView2<'_, f32>,
    train_acts: &[Option<Vec<String>>],
    queries: ArrayView2<'_, f32>,
    acts: &[Option<Vec<String>>],
) -> Result<Scored, TemplateError> {
    if train.nrows() == 0 {
        return Err(TemplateError::EmptyPairs("baseline training pairs".into()));
    }
    if train.ncols() != queries.ncols() {
        return Err(TemplateError::Dimension {
            expected: train.ncols(),
            got: queries.ncols(),
        });
    }
    let mut out = Vec::with_capacity(queries.nrows());
    let chunk = 256;
    let mut start = 0;
    while start < queries.nrows() {
        let end = (start + chunk).min(queries.nrows());
        let sims = queries.slice(s![start..end, ..]).dot(&train.t());
        for (r, row) in sims.rows().into_iter().enumerate() {
            let i = start + r;
            let (mut best, mut bs) = (0, f32::NEG_INFINITY);
            for (j, &v) in row.iter().enumerate() {
                if v > bs {
                    best = j;
                    bs = v;
                }
            }
            let truth =
                acts.get(i)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| TemplateError::MissingLabel {
                        what: "evaluation pairs".into(),
                        index: i,
                    })?;
            let pred = train_acts.get(best).cloned().flatten().ok_or_else(|| {
                TemplateError::MissingLabel {
                    what: "baseline pairs".into(),
                    index: best,
                }
            })?;
            out.push((bs, same_acts(&pred, &truth)));
        }
        start = end;
    }
    Ok(out)
}

impl EvalReport {
    /// Builds the report from the scored pairs (and the baseline's).
    pub fn new(
        set: &TemplateSet,
        scored: &[(f32, bool)],
        baseline: Option<(usize, &[(f32, bool)])>,
    ) -> Self {
        let n = scored.len().max(1);
        let answered: Vec<bool> = scored
            .iter()
            .filter(|(s, _)| *s >= set.threshold())
            .map(|&(_, c)| c)
            .collect();
        let correct = answered.iter().filter(|&&c| c).count();
        EvalReport {
            pairs: scored.len(),
            templates: set.len(),
            threshold: set.threshold(),
            coverage: answered.len() as f32 / n as f32,
            act_precision: if answered.is_empty() {
                0.0
            } else {
                correct as f32 / answered.len() as f32
            },
            curve: curve(scored),
            baseline: baseline.map(|(pairs, b)| BaselineReport {
                pairs,
                curve: curve(b),
            }),
        }
    }
}
