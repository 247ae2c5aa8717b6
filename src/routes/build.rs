//! The offline builder: trains the head and fits the "none" threshold.

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2};

use super::data::Example;
use super::error::RoutesError;
use super::set::{BuildInfo, NoneRule, RouteSet, SessionParams, ROUTES_FORMAT};
use super::train::{softmax_rows, train_head, Head, TrainParams};
use crate::embed::Embedder;
use crate::profile::F16Matrix;

/// The objective the threshold maximises, recorded in the route file.
pub const THRESHOLD_OBJECTIVE: &str = "in_scope_accuracy + oos_recall";

/// Builder parameters (linfa style: set fields, then [`check`](Self::check)).
///
/// ```
/// use aurora_router::routes::RoutesParams;
/// assert!(RoutesParams::new().epochs(0).check().is_err());
/// let p = RoutesParams::new().folds(3).check().unwrap();
/// assert_eq!(p.folds(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RoutesParams(RoutesValidParams);

/// Checked builder parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutesValidParams {
    epochs: usize,
    learning_rate: f32,
    weight_decay: f32,
    scale: f32,
    batch: usize,
    seed: u64,
    folds: usize,
    temperature: f32,
    none_rule: NoneRule,
    session: SessionParams,
}

impl Default for RoutesParams {
    fn default() -> Self {
        Self::new()
    }
}

impl RoutesParams {
    /// The defaults: 4 epochs of Adam (learning rate 0.02, weight decay
    /// 1e-5, batch 128) from centroids scaled to 16, temperature 4, 5 folds,
    /// "none" by the energy ([`NoneRule::Energy`]). They were chosen on
    /// CLINC150's train and validation splits only
    /// (`benches/routes_select.py`, BENCHMARKS.md).
    pub fn new() -> Self {
        RoutesParams(RoutesValidParams {
            epochs: 4,
            learning_rate: 0.02,
            weight_decay: 1e-5,
            scale: 16.0,
            batch: 128,
            seed: 42,
            folds: 5,
            temperature: 4.0,
            none_rule: NoneRule::Energy,
            session: SessionParams::default(),
        })
    }
    /// Training epochs (≥ 1).
    pub fn epochs(mut self, v: usize) -> Self {
        self.0.epochs = v;
        self
    }
    /// Adam learning rate (> 0).
    pub fn learning_rate(mut self, v: f32) -> Self {
        self.0.learning_rate = v;
        self
    }
    /// L2 weight decay (≥ 0).
    pub fn weight_decay(mut self, v: f32) -> Self {
        self.0.weight_decay = v;
        self
    }
    /// Norm of the initial centroid weights (> 0).
    pub fn scale(mut self, v: f32) -> Self {
        self.0.scale = v;
        self
    }
    /// Mini-batch size (≥ 1).
    pub fn batch(mut self, v: usize) -> Self {
        self.0.batch = v;
        self
    }
    /// Shuffling seed.
    pub fn seed(mut self, v: u64) -> Self {
        self.0.seed = v;
        self
    }
    /// Cross-validation folds for the threshold when there is no validation set (≥ 2).
    pub fn folds(mut self, v: usize) -> Self {
        self.0.folds = v;
        self
    }
    /// Softmax temperature of the scores (> 0).
    pub fn temperature(mut self, v: f32) -> Self {
        self.0.temperature = v;
        self
    }
    /// Which score the "none" threshold applies to.
    pub fn none_rule(mut self, v: NoneRule) -> Self {
        self.0.none_rule = v;
        self
    }
    /// Conversation parameters stored in the routes.
    pub fn session(mut self, v: SessionParams) -> Self {
        self.0.session = v;
        self
    }
    /// Checks every parameter.
    pub fn check(self) -> Result<RoutesValidParams, RoutesError> {
        let p = self.0;
        let bad = |name, reason: &str| {
            Err(RoutesError::Param {
                name,
                reason: reason.into(),
            })
        };
        if p.epochs == 0 || p.epochs > 1000 {
            return bad("epochs", "must be in 1..=1000");
        }
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
            return bad("learning_rate", "must be > 0");
        }
        if !(p.weight_decay.is_finite() && p.weight_decay >= 0.0) {
            return bad("weight_decay", "must be ≥ 0");
        }
        if !(p.scale.is_finite() && p.scale > 0.0) {
            return bad("scale", "must be > 0");
        }
        if p.batch == 0 {
            return bad("batch", "must be at least 1");
        }
        if p.folds < 2 {
            return bad("folds", "must be at least 2");
        }
        if !(p.temperature.is_finite() && p.temperature > 0.0) {
            return bad("temperature", "must be > 0");
        }
        if !(0.0..1.0).contains(&p.session.decay) {
            return bad("decay", "must be in [0, 1)");
        }
        if !(p.session.switch > 0.0 && p.session.switch <= 1.0) {
            return bad("switch", "must be in (0, 1]");
        }
        Ok(p)
    }
}

impl RoutesValidParams {
    /// Cross-validation folds.
    pub fn folds(&self) -> usize {
        self.folds
    }
    fn train(&self) -> TrainParams {
        TrainParams {
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            scale: self.scale,
            batch: self.batch,
            seed: self.seed,
        }
    }
}

/// Builds a [`RouteSet`] from example utterances and their embeddings.
///
/// Routes are the distinct non-null `route` values of the examples, in
/// order of first appearance; lines with `route: null` are out of scope and
/// are never trained on. The threshold maximises
/// `in_scope_accuracy + oos_recall` over held-out scores: the validation
/// lines (plus the examples' out-of-scope lines) when there are any,
/// otherwise out-of-fold scores of a stratified k-fold cross-validation on
/// the examples. With no out-of-scope line anywhere it is 0 (never "none").
///
/// ```
/// use aurora_router::routes::{Example, RoutesBuilder, RoutesParams};
/// let ex = |t: &str, r: Option<&str>| Example { text: t.into(), route: r.map(Into::into) };
/// let examples = vec![ex("sun", Some("weather")), ex("rain", Some("weather")),
///                     ex("song", Some("music")), ex("band", Some("music")), ex("tax", None)];
/// let emb = ndarray::array![[1.0, 0.1, 0.0], [0.9, 0.0, 0.1], [0.0, 1.0, 0.1],
///                           [0.1, 0.9, 0.0], [0.0, 0.1, 1.0]];
/// let params = RoutesParams::new().folds(2).check().unwrap();
/// let routes = RoutesBuilder::new(params, "toy", false)
///     .build(&examples, emb.view(), None).unwrap();
/// assert_eq!(routes.names(), ["weather", "music"]);
/// assert_eq!(routes.match_embedding(&[1.0, 0.0, 0.0]).unwrap().route.as_deref(), Some("weather"));
/// ```
#[derive(Debug, Clone)]
pub struct RoutesBuilder {
    params: RoutesValidParams,
    embedding_model: String,
    is_mock: bool,
    descriptions: Vec<(String, String)>,
    keywords: Vec<(String, Vec<String>)>,
    examples_name: String,
    val_name: String,
}

impl RoutesBuilder {
    /// A builder for embeddings of `embedding_model`.
    pub fn new(params: RoutesValidParams, embedding_model: &str, is_mock: bool) -> Self {
        RoutesBuilder {
            params,
            embedding_model: embedding_model.to_string(),
            is_mock,
            descriptions: Vec::new(),
            keywords: Vec::new(),
            examples_name: "examples".into(),
            val_name: "validation".into(),
        }
    }
    /// Per-route descriptions, kept in the route file.
    pub fn descriptions(mut self, d: Vec<(String, String)>) -> Self {
        self.descriptions = d;
        self
    }
    /// Per-route keywords, kept in the route file.
    pub fn keywords(mut self, k: Vec<(String, Vec<String>)>) -> Self {
        self.keywords = k;
        self
    }
    /// Names of the example and validation inputs, for error messages.
    pub fn source_names(mut self, examples: &str, val: &str) -> Self {
        self.examples_name = examples.into();
        self.val_name = val.into();
        self
    }

    /// Embeds the texts with `embedder`, then [`build`](Self::build)s.
    pub fn build_with_embedder(
        &self,
        examples: &[Example],
        val: Option<&[Example]>,
        embedder: &dyn Embedder,
    ) -> Result<RouteSet, RoutesError> {
        if embedder.model_id() != self.embedding_model || embedder.is_mock() != self.is_mock {
            return Err(RoutesError::EmbedderMismatch {
                routes_model: self.embedding_model.clone(),
                routes_dim: embedder.dim(),
                routes_is_mock: self.is_mock,
                embedder_model: embedder.model_id().into(),
                embedder_dim: embedder.dim(),
                embedder_is_mock: embedder.is_mock(),
            });
        }
        let embed = |lines: &[Example]| -> Result<Array2<f32>, RoutesError> {
            let texts: Vec<&str> = lines.iter().map(|e| e.text.as_str()).collect();
            if texts.iter().any(|t| t.trim().is_empty()) {
                return Err(RoutesError::EmptyText);
            }
            let rows = embedder.embed_batch(&texts)?;
            let d = embedder.dim();
            let flat: Vec<f32> = rows.into_iter().flatten().collect();
            Array2::from_shape_vec((lines.len(), d), flat).map_err(|_| RoutesError::Dimension {
                expected: d,
                got: 0,
            })
        };
        let e = embed(examples)?;
        let v = val.map(embed).transpose()?;
        self.build(examples, e.view(), val.zip(v.as_ref().map(|v| v.view())))
    }

    /// Builds from examples and their embeddings (row i = line i), with an
    /// optional validation set.
    pub fn build(
        &self,
        examples: &[Example],
        embeddings: ArrayView2<f32>,
        val: Option<(&[Example], ArrayView2<f32>)>,
    ) -> Result<RouteSet, RoutesError> {
        let en = &self.examples_name;
        let (x, dim) = normalized(en, examples.len(), embeddings)?;
        // Routes, in order of first appearance.
        let mut names: Vec<String> = Vec::new();
        let mut index = BTreeMap::new();
        let mut y: Vec<Option<usize>> = Vec::with_capacity(examples.len());
        for e in examples {
            y.push(e.route.as_ref().map(|r| {
                *index.entry(r.clone()).or_insert_with(|| {
                    names.push(r.clone());
                    names.len() - 1
                })
            }));
        }
        if names.is_empty() {
            return Err(RoutesError::Empty(en.clone()));
        }
        let named = self
            .descriptions
            .iter()
            .map(|(k, _)| k)
            .chain(self.keywords.iter().map(|(k, _)| k));
        for r in named {
            if !index.contains_key(r) {
                return Err(RoutesError::RouteWithoutExamples {
                    source_name: "descriptions/keywords".into(),
                    route: r.clone(),
                });
            }
        }
        let k = names.len();
        let ins: Vec<usize> = (0..examples.len()).filter(|&i| y[i].is_some()).collect();
        let oos: Vec<usize> = (0..examples.len()).filter(|&i| y[i].is_none()).collect();
        let xin = x.select(ndarray::Axis(0), &ins);
        let yin: Vec<usize> = ins.iter().map(|&i| y[i].unwrap_or(0)).collect();
        let tp = self.params.train();
        let head = train_head(xin.view(), &yin, k, &tp);
        let t = self.params.temperature;
        let rule = self.params.none_rule;

        // Held-out scores: (best score, correct) for in-scope lines, best score for OOS lines.
        let mut held_in: Vec<(f32, bool)> = Vec::new();
        let mut held_oos: Vec<f32> = Vec::new();
        let xoos = x.select(ndarray::Axis(0), &oos);
        held_oos.extend(
            best(&head, xoos.view(), t, rule)
                .into_iter()
                .map(|(_, s)| s),
        );
        let source;
        if let Some((vlines, vemb)) = val {
            let vn = &self.val_name;
            let (vx, vd) = normalized(vn, vlines.len(), vemb)?;
            if vd != dim {
                return Err(RoutesError::Dimension {
                    expected: dim,
                    got: vd,
                });
            }
            let mut vy = Vec::with_capacity(vlines.len());
            for (i, l) in vlines.iter().enumerate() {
                vy.push(match &l.route {
                    None => None,
                    Some(r) => Some(*index.get(r).ok_or_else(|| RoutesError::UnknownRoute {
                        source_name: vn.clone(),
                        line: i + 1,
                        route: r.clone(),
                    })?),
                });
            }
            for ((p, s), label) in best(&head, vx.view(), t, rule).into_iter().zip(vy) {
                match label {
                    Some(c) => held_in.push((s, p == c)),
                    None => held_oos.push(s),
                }
            }
            source = "validation";
        } else if !held_oos.is_empty() {
            // Stratified folds: the j-th example of a route goes to fold j mod F.
            let f = self.params.folds;
            let mut seen = vec![0usize; k];
            let fold: Vec<usize> = yin
                .iter()
                .map(|&c| {
                    seen[c] += 1;
                    (seen[c] - 1) % f
                })
                .collect();
            for fi in 0..f {
                let tr: Vec<usize> = (0..yin.len()).filter(|&i| fold[i] != fi).collect();
                let te: Vec<usize> = (0..yin.len()).filter(|&i| fold[i] == fi).collect();
                if te.is_empty() || tr.is_empty() {
                    continue;
                }
                let ytr: Vec<usize> = tr.iter().map(|&i| yin[i]).collect();
                let h = train_head(xin.select(ndarray::Axis(0), &tr).view(), &ytr, k, &tp);
                let xte = xin.select(ndarray::Axis(0), &te);
                for ((p, s), &i) in best(&h, xte.view(), t, rule).into_iter().zip(&te) {
                    held_in.push((s, p == yin[i]));
                }
            }
            source = "cross-validation";
        } else {
            source = "none";
        }
        // Below every score there is: never "none".
        let never = match rule {
            NoneRule::MaxProbability => 0.0,
            NoneRule::Energy => f32::MIN,
        };
        let threshold = if held_oos.is_empty() || held_in.is_empty() {
            never
        } else {
            fit_threshold(&held_in, &held_oos).unwrap_or(never)
        };
        let (source, threshold) = if held_oos.is_empty() {
            ("none", never)
        } else {
            (source, threshold)
        };
        let p = &self.params;
        let params = [
            ("epochs", p.epochs as f64),
            ("learning_rate", p.learning_rate as f64),
            ("weight_decay", p.weight_decay as f64),
            ("scale", p.scale as f64),
            ("batch", p.batch as f64),
            ("seed", p.seed as f64),
            ("folds", p.folds as f64),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b))
        .collect();
        let w = head.weights.as_standard_layout();
        let weights = F16Matrix::from_rows(k, dim, w.as_slice().unwrap_or(&[]))?;
        let set = RouteSet {
            format: ROUTES_FORMAT.into(),
            embedding_model: self.embedding_model.clone(),
            dim,
            is_mock: self.is_mock,
            names,
            weights,
            bias: head.bias.to_vec(),
            temperature: t,
            none_rule: rule,
            threshold,
            session: p.session,
            descriptions: self.descriptions.iter().cloned().collect(),
            keywords: self.keywords.iter().cloned().collect(),
            build: BuildInfo {
                n_examples: ins.len(),
                n_out_of_scope: held_oos.len(),
                threshold_source: source.into(),
                objective: THRESHOLD_OBJECTIVE.into(),
                params,
            },
        };
        crate::profile::Section::validate(&set)?;
        Ok(set)
    }
}

/// Checks and L2-normalises the rows; returns them and the dimension.
fn normalized(
    name: &str,
    lines: usize,
    emb: ArrayView2<f32>,
) -> Result<(Array2<f32>, usize), RoutesError> {
    if emb.nrows() != lines {
        return Err(RoutesError::input(
            name,
            None,
            format!("{} embedding rows for {lines} lines", emb.nrows()),
        ));
    }
    let d = emb.ncols();
    if d == 0 {
        return Err(RoutesError::Dimension {
            expected: 1,
            got: 0,
        });
    }
    let mut x = emb.to_owned();
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(RoutesError::InvalidEmbedding {
                what: format!("{name} row {}", i + 1),
                index: j,
            });
        }
        let n = row.dot(&row).sqrt();
        if !(n > 0.0 && n.is_finite()) {
            return Err(RoutesError::InvalidEmbedding {
                what: format!("{name} row {}", i + 1),
                index: 0,
            });
        }
        row /= n;
    }
    Ok((x, d))
}

/// (best route, its in-scope score under `rule`) of each row: the same
/// numbers `RouteSet::match_embedding` compares with the threshold.
fn best(head: &Head, x: ArrayView2<f32>, temperature: f32, rule: NoneRule) -> Vec<(usize, f32)> {
    if x.nrows() == 0 {
        return Vec::new();
    }
    let z = head.logits(x);
    let argmax = |r: ndarray::ArrayView1<f32>| {
        r.iter().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |a, (i, &v)| if v > a.1 { (i, v) } else { a },
        )
    };
    match rule {
        NoneRule::Energy => z
            .rows()
            .into_iter()
            .map(|r| {
                let (i, m) = argmax(r);
                let s: f32 = r.iter().map(|&v| (v - m).exp()).sum();
                (i, m + s.ln())
            })
            .collect(),
        NoneRule::MaxProbability => {
            let mut p = z / temperature;
            softmax_rows(&mut p);
            p.rows().into_iter().map(argmax).collect()
        }
    }
}

/// The threshold maximising in-scope accuracy + OOS recall: halfway
/// between the best cut's score and the next lower held-out score; `None`
/// when the best is to cut below every score (never "none").
pub(crate) fn fit_threshold(held_in: &[(f32, bool)], held_oos: &[f32]) -> Option<f32> {
    let mut right: Vec<f32> = held_in.iter().filter(|h| h.1).map(|h| h.0).collect();
    let mut oos = held_oos.to_vec();
    right.sort_by(f32::total_cmp);
    oos.sort_by(f32::total_cmp);
    let mut cands: Vec<f32> = held_in
        .iter()
        .map(|h| h.0)
        .chain(oos.iter().copied())
        .collect();
    cands.sort_by(f32::total_cmp);
    cands.dedup();
    let (n_in, n_oos) = (held_in.len() as f64, oos.len() as f64);
    let mut best = (f64::NEG_INFINITY, 0usize);
    for (ci, &c) in cands.iter().enumerate() {
        let acc = (right.len() - right.partition_point(|&s| s < c)) as f64 / n_in;
        let rec = oos.partition_point(|&s| s < c) as f64 / n_oos;
        if acc + rec > best.0 {
            best = (acc + rec, ci);
        }
    }
    let ci = best.1;
    (ci > 0).then(|| 0.5 * (cands[ci] + cands[ci - 1]))
}
