//! One self-contained HTML page that shows a router profile: a 2-D map of
//! the prompts coloured by cluster, the error heatmap (models × clusters),
//! the deferral curves of an evaluation, the table of clustering candidates
//! the build considered, and, when given, a taxonomy tree and the routes'
//! confusion matrix. Inline SVG and CSS only: no script, no network.
//!
//! Every drawn data element carries the class `mark` inside an element with
//! a `data-chart` attribute (`map`, `heatmap`, `curves`, `selection`,
//! `taxonomy`, `routes-confusion`, `routes-accuracy`), so a browser test can
//! count the marks of each chart.
//!
//! The map is UMAP by default ([`Projection`]): on the shipped MMLU-Pro
//! example it is far more faithful than PCA (trustworthiness and 10-NN
//! preservation, see BENCHMARKS.md, "Report map: PCA or UMAP").
//!
//! ```
//! use aurora_router::eval::HtmlReport;
//! use aurora_router::route::Router;
//! let json = br#"{"version":"2.0",
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1]},
//!   "models":[{"name":"small","cost":1},{"name":"big","cost":10}]}"#;
//! let router = Router::from_json(json)?;
//! let html = HtmlReport::new(&router).title("toy").render()?;
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains(r#"data-chart="heatmap""#));
//! assert!(!html.contains("<script"));
//! # Ok::<(), aurora_router::eval::EvalError>(())
//! ```

use std::fmt::Write as _;

use ndarray::ArrayView2;
use serde_json::Value;

use super::map2d::{pca_map, umap_map};
use super::svg::{category_colour, esc, fmt_tick, heat_colour, nice_step, text_width, Labeller};
use super::{plot_svg, EvalError, EvalReport};
use crate::profile::{Metadata, SelectionMethod};
use crate::route::Router;
use crate::routes::{match_labelled, Example, RouteSet, RoutesError};
use crate::routing::{unit_row, Centroids};
use crate::taxonomy::ctfidf::keywords;
use crate::taxonomy::{Taxonomy, TaxonomyNode};

/// Keywords shown per cluster.
const KEYWORDS: usize = 3;

/// The routes' confusion on a labelled set: rows are the true routes then
/// "out of scope", columns the predicted routes then "none" (below the
/// threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct RoutesConfusion {
    /// Route names, in the route set's order.
    pub names: Vec<String>,
    /// `(names.len() + 1) × (names.len() + 1)` counts.
    pub matrix: Vec<Vec<usize>>,
}

impl RoutesConfusion {
    /// Matches each labelled line (row `i` of `embeddings` = line `i`) and
    /// counts true × predicted. A line naming a route the set does not have
    /// is [`RoutesError::UnknownRoute`].
    pub fn compute(
        routes: &RouteSet,
        lines: &[Example],
        embeddings: ArrayView2<'_, f32>,
        source_name: &str,
    ) -> Result<Self, RoutesError> {
        let k = routes.len();
        let mut matrix = vec![vec![0usize; k + 1]; k + 1];
        for (label, m) in match_labelled(routes, lines, embeddings, source_name)? {
            let t = label.unwrap_or(k);
            let p = if m.route.is_some() { m.best_index } else { k };
            matrix[t][p] += 1;
        }
        Ok(Self {
            names: routes.names().to_vec(),
            matrix,
        })
    }

    /// Per route: (name, lines, share routed to it). Routes without lines are left out.
    pub fn per_route_accuracy(&self) -> Vec<(String, usize, f64)> {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                let n: usize = self.matrix[i].iter().sum();
                (n > 0).then(|| (name.clone(), n, self.matrix[i][i] as f64 / n as f64))
            })
            .collect()
    }
}

/// How the map projects the embeddings to 2-D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Projection {
    /// UMAP (the default: the more faithful map on the measured data).
    #[default]
    Umap,
    /// The two principal axes.
    Pca,
}

impl Projection {
    fn describe(self) -> &'static str {
        match self {
            Projection::Umap => "laid out by UMAP (cosine, 15 neighbours), which keeps each prompt's nearest neighbours close; distances between far-apart groups mean little",
            Projection::Pca => "projected on their two principal axes (PCA)",
        }
    }
}

/// Most prompts drawn on the map (a regular sample of larger sets).
pub const MAX_MAP_POINTS: usize = 3000;

/// The HTML report of a router profile (see the [module docs](self)).
pub struct HtmlReport<'a> {
    projection: Projection,
    router: &'a Router,
    title: String,
    prompts: Option<(ArrayView2<'a, f32>, Option<&'a [String]>)>,
    eval: Option<&'a EvalReport>,
    eval_note: Option<String>,
    taxonomy: Option<&'a Taxonomy>,
    routes: Option<&'a RoutesConfusion>,
    command: Option<String>,
}

impl<'a> HtmlReport<'a> {
    /// A report of `router`'s profile: heatmap and selection table; the
    /// map shows the cluster centroids until [`prompts`](Self::prompts) are given.
    pub fn new(router: &'a Router) -> Self {
        Self {
            router,
            projection: Projection::default(),
            title: "Aurora router profile".into(),
            prompts: None,
            eval: None,
            eval_note: None,
            taxonomy: None,
            routes: None,
            command: None,
        }
    }

    /// How the map is laid out (default UMAP).
    pub fn projection(mut self, projection: Projection) -> Self {
        self.projection = projection;
        self
    }

    /// The page title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Prompts to draw on the map: one embedding row each (the profile's
    /// model and dimension), with their texts for the cluster keywords.
    pub fn prompts(mut self, embeddings: ArrayView2<'a, f32>, texts: Option<&'a [String]>) -> Self {
        self.prompts = Some((embeddings, texts));
        self
    }

    /// An evaluation to draw as deferral curves, with a note on the set
    /// (e.g. "in-sample: these prompts built the profile").
    pub fn eval(mut self, report: &'a EvalReport, note: Option<String>) -> Self {
        self.eval = Some(report);
        self.eval_note = note;
        self
    }

    /// A taxonomy to show as a collapsible tree.
    pub fn taxonomy(mut self, taxonomy: &'a Taxonomy) -> Self {
        self.taxonomy = Some(taxonomy);
        self
    }

    /// The routes' confusion on a labelled set.
    pub fn routes(mut self, confusion: &'a RoutesConfusion) -> Self {
        self.routes = Some(confusion);
        self
    }

    /// The command that made the report (shown in the footer).
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// Renders the page. Errors: [`EvalError::Dimension`] when the prompts'
    /// embeddings do not have the profile's dimension, [`EvalError::Row`]
    /// for a row that cannot be assigned (zero or not finite).
    pub fn render(&self) -> Result<String, EvalError> {
        let profile = self.router.profile();
        let k = profile.n_clusters();
        let d = profile.dim();
        let centroids = Centroids::new(&profile.centroids, d);

        // Points of the map and their clusters.
        let (points, labels, texts) = match &self.prompts {
            Some((x, texts)) => {
                if x.ncols() != d {
                    return Err(EvalError::Dimension {
                        expected: d,
                        got: x.ncols(),
                    });
                }
                let mut rows = Vec::with_capacity(x.nrows());
                let mut labels = Vec::with_capacity(x.nrows());
                let step = x.nrows().div_ceil(MAX_MAP_POINTS).max(1);
                let mut kept_texts: Vec<String> = Vec::new();
                for (i, r) in x.rows().into_iter().enumerate().step_by(step) {
                    let mut v: Vec<f32> = r.to_vec();
                    if !unit_row(&mut v) {
                        return Err(EvalError::Invalid {
                            what: "prompt embeddings".into(),
                            reason: format!("row {i} is zero or not finite"),
                        });
                    }
                    let c = centroids.nearest(&v).map_err(|e| EvalError::Invalid {
                        what: "prompt embeddings".into(),
                        reason: format!("row {i}: {e}"),
                    })?;
                    rows.push(v);
                    labels.push(c);
                    if let Some(t) = texts {
                        kept_texts.push(t.get(i).cloned().unwrap_or_default());
                    }
                }
                (rows, labels, texts.map(|_| kept_texts))
            }
            None => {
                let rows: Vec<Vec<f32>> = (0..k).map(|c| centroids.row(c).to_vec()).collect();
                (rows, (0..k).collect(), None)
            }
        };
        let texts: Option<&[String]> = texts.as_deref();
        let kw: Vec<Vec<String>> = match texts {
            Some(t) if t.len() == labels.len() => {
                let mut classes: Vec<Vec<&str>> = vec![Vec::new(); k];
                for (text, &c) in t.iter().zip(&labels) {
                    classes[c].push(text.as_str());
                }
                keywords(&classes, KEYWORDS)
            }
            _ => vec![Vec::new(); k],
        };
        let projected = match self.projection {
            Projection::Umap => umap_map(&points, 42),
            Projection::Pca => pca_map(&points),
        };
        let centroid_xy = centroid_positions(&projected, &labels, k);

        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&self.title),
            esc(&self.title)
        );
        h.push_str(&summary(self.router, &profile.metadata));
        h.push_str(
            "<nav>Sections: <a href=\"#map\">map</a> · <a href=\"#heatmap\">error heatmap</a> · <a href=\"#curves\">deferral curves</a> · <a href=\"#selection\">clustering candidates</a>",
        );
        if self.taxonomy.is_some() {
            h.push_str(" · <a href=\"#taxonomy\">taxonomy</a>");
        }
        if self.routes.is_some() {
            h.push_str(" · <a href=\"#routes\">routes</a>");
        }
        h.push_str("</nav>\n");

        // Map.
        let what = if self.prompts.is_some() {
            format!(
                "{} prompts, each coloured by its nearest cluster",
                points.len()
            )
        } else {
            format!("the {k} cluster centroids (give prompts and embeddings to draw every prompt)")
        };
        let _ = writeln!(
            h,
            "<section id=\"map\"><h2>Map of the prompts</h2><p>{what}, {}. Each cluster's centroid is a black-edged diamond with its number{}; hover a dot for its prompt.</p>",
            self.projection.describe(),
            if kw.iter().any(|k| !k.is_empty()) {
                " and its most distinctive words (c-TF-IDF)"
            } else {
                ""
            }
        );
        h.push_str(&map_svg(
            &projected,
            &labels,
            &centroid_xy,
            &kw,
            texts,
            &profile.cluster_sizes,
        ));
        h.push_str("</section>\n");

        // Heatmap.
        h.push_str(&heatmap(self.router, &kw));

        // Curves.
        h.push_str("<section id=\"curves\"><h2>Deferral curves</h2>\n");
        match self.eval {
            Some(r) => {
                let _ = write!(
                    h,
                    "<p>Accuracy against mean cost per prompt on {} prompts{}. The router's curve sweeps the cost preference; each single model is a numbered dot; the dashed line is the best mix of single models (hull), the dotted green line the oracle. QAB is quality at budget, the mean over budgets of 5–100 % of the most expensive model's cost.</p>\n<div data-chart=\"curves\">",
                    r.n_prompts,
                    self.eval_note
                        .as_deref()
                        .map(|n| format!(" ({})", esc(n)))
                        .unwrap_or_default()
                );
                h.push_str(&plot_svg(r));
                h.push_str("</div>\n");
            }
            None => h.push_str(
                "<p>No evaluation: give <code>--prompts</code>, <code>--results</code> and embeddings to draw the curves.</p>\n",
            ),
        }
        h.push_str("</section>\n");

        h.push_str(&selection_table(&profile.metadata));
        if let Some(t) = self.taxonomy {
            h.push_str(&taxonomy_tree(t));
        }
        if let Some(r) = self.routes {
            h.push_str(&routes_section(r));
        }
        let _ = write!(
            h,
            "<footer>Made by {}{}. Self-contained: no script, no network.</footer>\n</body>\n</html>\n",
            esc(&profile.metadata.generator),
            self.command
                .as_deref()
                .map(|c| format!(" with <code>{}</code>", esc(c)))
                .unwrap_or_default()
        );
        Ok(h)
    }
}

const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#222;line-height:1.4}\
h1{font-size:24px}h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 7px;border:1px solid #ddd;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}tr.win td{background:#fff6d5;font-weight:bold}\
details{margin-left:18px}summary{cursor:pointer}.kw{color:#666}code{background:#f4f4f4;padding:1px 4px}\
nav{margin:8px 0 0}footer{margin-top:40px;color:#777;font-size:12px}svg{max-width:100%;height:auto}\
.cm td{min-width:22px;text-align:center}.facts td{text-align:left}";

/// The profile in words a user knows (details in the selection table).
fn summary(router: &Router, m: &Metadata) -> String {
    let models: Vec<String> = router
        .models()
        .iter()
        .map(|x| format!("{} (cost {})", esc(&x.name), x.cost))
        .collect();
    let mut rows = vec![
        (
            "Groups of similar prompts",
            format!(
                "{} (clustering: {})",
                m.n_clusters,
                esc(&m.clustering_algorithm.to_string())
            ),
        ),
        (
            "Training prompts",
            format!("{}", router.profile().cluster_sizes.iter().sum::<u64>()),
        ),
        ("Models", models.join(", ")),
        (
            "Embeddings",
            format!(
                "{}, {} dimensions{}",
                esc(&m.embedding_model),
                m.feature_dim,
                if m.is_mock { " (mock)" } else { "" }
            ),
        ),
    ];
    if let Some(r) = &m.routing {
        rows.push((
            "Routing",
            if r.clusters_mixed() > 1 {
                format!(
                    "each prompt mixes its {} most similar groups (soft assignment)",
                    r.clusters_mixed()
                )
            } else {
                "each prompt uses its single most similar group (hard assignment)".into()
            },
        ));
    }
    let mut s = String::from("<table class=\"facts\">");
    for (k, v) in rows {
        let _ = write!(s, "<tr><th class=\"l\">{k}</th><td>{v}</td></tr>");
    }
    s.push_str("</table>\n");
    s
}

/// Mean projected position of each cluster's points (`None` when empty).
fn centroid_positions(xy: &[(f64, f64)], labels: &[usize], k: usize) -> Vec<Option<(f64, f64)>> {
    let mut sum = vec![(0.0, 0.0, 0usize); k];
    for (&(x, y), &c) in xy.iter().zip(labels) {
        sum[c].0 += x;
        sum[c].1 += y;
        sum[c].2 += 1;
    }
    sum.into_iter()
        .map(|(x, y, n)| (n > 0).then(|| (x / n as f64, y / n as f64)))
        .collect()
}

fn truncate(s: &str, n: usize) -> String {
    let mut t: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        t.push('…');
    }
    t
}

/// The map: dots, centroid diamonds, labels that never overlap, and a
/// legend with every cluster's colour, size and keywords.
fn map_svg(
    xy: &[(f64, f64)],
    labels: &[usize],
    centres: &[Option<(f64, f64)>],
    kw: &[Vec<String>],
    texts: Option<&[String]>,
    sizes: &[u64],
) -> String {
    const W: f64 = 1140.0;
    const X0: f64 = 20.0;
    const Y0: f64 = 20.0;
    const PW: f64 = 700.0;
    const PH: f64 = 600.0;
    const LX: f64 = 740.0;
    let k = centres.len();
    let legend_h = 40.0 + 17.0 * k as f64;
    let h = (Y0 + PH + 20.0).max(legend_h + 20.0);
    let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in xy {
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if xmax <= xmin || xmax.is_nan() {
        xmin -= 1.0;
        xmax += 1.0;
    }
    if ymax <= ymin || ymax.is_nan() {
        ymin -= 1.0;
        ymax += 1.0;
    }
    let (px, py) = ((xmax - xmin) * 0.04, (ymax - ymin) * 0.04);
    let sx = |x: f64| X0 + PW * (x - xmin + px) / (xmax - xmin + 2.0 * px);
    let sy = |y: f64| Y0 + PH * (1.0 - (y - ymin + py) / (ymax - ymin + 2.0 * py));
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg data-chart="map" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h:.0}" viewBox="0 0 {W} {h:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12"><rect width="{W}" height="{h:.0}" fill="white"/><rect x="{X0}" y="{Y0}" width="{PW}" height="{PH}" fill="none" stroke="#bbb"/>"##
    );
    let r = if xy.len() > 3000 { 1.8 } else { 2.6 };
    for (i, (&(x, y), &c)) in xy.iter().zip(labels).enumerate() {
        let title = match texts {
            Some(t) => format!("cluster {c}: {}", esc(&truncate(&t[i], 90))),
            None => format!("cluster {c}"),
        };
        let _ = writeln!(
            s,
            r#"<circle class="mark" cx="{:.1}" cy="{:.1}" r="{r}" fill="{}" fill-opacity="0.7"><title>{title}</title></circle>"#,
            sx(x),
            sy(y),
            category_colour(c)
        );
    }
    let mut placer = Labeller::new((X0 + 2.0, Y0 + 2.0, X0 + PW - 2.0, Y0 + PH - 2.0));
    for (x, y) in centres.iter().flatten() {
        let (cx, cy) = (sx(*x), sy(*y));
        placer.reserve((cx - 5.0, cy - 5.0, cx + 5.0, cy + 5.0));
    }
    // Larger clusters get their labels placed first.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(sizes.get(c).copied().unwrap_or(0)));
    let mut text_labels = String::new();
    for &c in &order {
        let Some((x, y)) = centres[c] else { continue };
        let (cx, cy) = (sx(x), sy(y));
        let _ = writeln!(
            s,
            r#"<path class="mark" d="M{cx:.1},{:.1} L{:.1},{cy:.1} L{cx:.1},{:.1} L{:.1},{cy:.1} Z" fill="{}" stroke="black" stroke-width="1.2"><title>cluster {c}</title></path>"#,
            cy - 5.0,
            cx + 5.0,
            cy + 5.0,
            cx - 5.0,
            category_colour(c)
        );
        let full = if kw[c].is_empty() {
            format!("{c}")
        } else {
            format!("{c}: {}", kw[c][..kw[c].len().min(2)].join(", "))
        };
        let short = format!("{c}");
        for text in [full, short] {
            if let Some((tx, ty)) = placer.place(cx, cy, text_width(&text, 11.0), 11.0) {
                let _ = writeln!(
                    text_labels,
                    r#"<text x="{tx:.1}" y="{ty:.1}" font-size="11" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
                    esc(&text)
                );
                break;
            }
        }
    }
    s.push_str(&text_labels);
    // Legend.
    let _ = writeln!(
        s,
        r#"<text x="{LX}" y="{:.1}" font-weight="bold">cluster (training prompts): keywords</text>"#,
        Y0 + 10.0
    );
    for (c, words) in kw.iter().enumerate().take(k) {
        let ly = Y0 + 30.0 + 17.0 * c as f64;
        let words = if words.is_empty() {
            String::new()
        } else {
            format!(": {}", words.join(", "))
        };
        let line = truncate(
            &format!("{c} ({}){words}", sizes.get(c).copied().unwrap_or(0)),
            64,
        );
        let _ = writeln!(
            s,
            r#"<rect x="{LX}" y="{:.1}" width="11" height="11" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            ly - 9.0,
            category_colour(c),
            LX + 17.0,
            ly,
            esc(&line)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Models (rows, by cost) × clusters (columns, by training size): expected
/// error, with the counts on hover.
fn heatmap(router: &Router, kw: &[Vec<String>]) -> String {
    let profile = router.profile();
    let k = profile.n_clusters();
    let mut cols: Vec<usize> = (0..k).collect();
    cols.sort_by_key(|&c| (std::cmp::Reverse(profile.cluster_sizes[c]), c));
    let mut rows: Vec<usize> = (0..router.model_count()).collect();
    rows.sort_by(|&a, &b| {
        router.models()[a]
            .cost
            .total_cmp(&router.models()[b].cost)
            .then(a.cmp(&b))
    });
    let label_w = rows
        .iter()
        .map(|&m| {
            let x = &router.models()[m];
            text_width(&format!("{} ({})", x.name, x.cost), 12.0)
        })
        .fold(80.0f64, f64::max)
        + 16.0;
    let cw = (860.0 / k.max(1) as f64).clamp(14.0, 34.0);
    let ch = 26.0;
    let top = 46.0;
    let w = label_w + cw * k as f64 + 20.0;
    let hh = top + ch * rows.len() as f64 + 64.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<section id=\"heatmap\"><h2>Error heatmap</h2><p>Expected error of each model (rows, cheapest first) on each cluster (columns, largest first): the profile's per-cluster error rates, shrunk toward each model's overall rate. Darker is worse; hover a cell for the counts. The numbers above the columns are cluster numbers (see the map's legend), below them the training prompts per cluster.</p>"
    );
    let _ = writeln!(
        s,
        r#"<svg data-chart="heatmap" xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{hh:.0}" viewBox="0 0 {w:.0} {hh:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12"><rect width="{w:.0}" height="{hh:.0}" fill="white"/>"#
    );
    let font = if cw < 22.0 { 8.0 } else { 10.0 };
    for (j, &c) in cols.iter().enumerate() {
        let x = label_w + cw * (j as f64 + 0.5);
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{font}">{c}<title>cluster {c}: {}</title></text><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{font}" fill="#777">{}</text>"##,
            top - 22.0,
            esc(&kw[c].join(", ")),
            top - 6.0,
            profile.cluster_sizes[c]
        );
    }
    for (i, &m) in rows.iter().enumerate() {
        let info = &router.models()[m];
        let y = top + ch * i as f64;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} ({})</text>"#,
            label_w - 8.0,
            y + ch / 2.0 + 4.0,
            esc(&info.name),
            info.cost
        );
        let rates = profile.error_rates(m);
        let counts = profile.counts.get(&info.name);
        for (j, &c) in cols.iter().enumerate() {
            let e = rates[c];
            let (fill, white) = heat_colour(e);
            let x = label_w + cw * j as f64;
            let hover = match counts {
                Some(ct) => format!(
                    "{}, cluster {c}: expected error {e:.3}; {:.0} wrong of {} training prompts",
                    esc(&info.name),
                    ct.errors.get(c).copied().unwrap_or(0.0),
                    ct.n.get(c).copied().unwrap_or(0)
                ),
                None => format!(
                    "{}, cluster {c}: expected error {e:.3} ({} training prompts)",
                    esc(&info.name),
                    profile.cluster_sizes[c]
                ),
            };
            let _ = write!(
                s,
                r##"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#fff"><title>{hover}</title></rect>"##,
                cw - 1.0,
                ch - 1.0
            );
            if cw >= 26.0 {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="{}" pointer-events="none">{:.0}</text>"#,
                    x + cw / 2.0,
                    y + ch / 2.0 + 3.0,
                    if white { "white" } else { "#333" },
                    e * 100.0
                );
            }
            s.push('\n');
        }
    }
    // Colour scale.
    let ly = top + ch * rows.len() as f64 + 24.0;
    for i in 0..=10 {
        let v = i as f64 / 10.0;
        let (fill, _) = heat_colour(v);
        let x = label_w + 24.0 * i as f64;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{ly:.1}" width="24" height="12" fill="{fill}" stroke="#ccc"/>"##
        );
    }
    let step = nice_step(1.0, 5.0);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">expected error</text><text x="{:.1}" y="{:.1}">0</text><text x="{:.1}" y="{:.1}" text-anchor="end">{} (cells: %)</text>"#,
        label_w - 8.0,
        ly + 10.0,
        label_w,
        ly + 26.0,
        label_w + 264.0,
        ly + 26.0,
        fmt_tick(1.0, step)
    );
    s.push_str("</svg>\n</section>\n");
    s
}

fn param_text(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "—".into())
}

/// Every clustering candidate the build considered, the winner marked.
fn selection_table(m: &Metadata) -> String {
    let mut s = String::from("<section id=\"selection\"><h2>Clustering candidates</h2>\n");
    let how = match &m.selection_method {
        Some(SelectionMethod::RoutingCv) => {
            "chosen by the best routing quality in cross-validation"
        }
        Some(SelectionMethod::Silhouette) | None => "chosen by the best silhouette",
    };
    let _ = writeln!(
        s,
        "<p>Every clustering the build tried ({how}); the winner is marked ★. CV QAB is the routing quality (QAB) of the candidate in cross-validation on the training set, with hard and with soft assignment; silhouette measures how well separated the clusters are (— when not computed).</p>"
    );
    if m.selection.is_empty() {
        s.push_str("<p>The profile records no candidates.</p></section>\n");
        return s;
    }
    s.push_str("<table data-chart=\"selection\"><tr><th></th><th class=\"l\">algorithm</th><th class=\"l\">parameters</th><th>clusters</th><th>silhouette</th><th>noise fraction</th><th>CV QAB (hard)</th><th>CV QAB (soft)</th><th class=\"l\">note</th></tr>\n");
    for e in &m.selection {
        let win = e.algorithm == m.clustering_algorithm && e.params == m.params;
        let soft = match (e.cv_top_k_qab, e.cv_top_k) {
            (Some(q), Some(t)) => format!("{q:.4} (top {t})"),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            "<tr class=\"mark{}\"><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{soft}</td><td class=\"l\">{}</td></tr>",
            if win { " win" } else { "" },
            if win { "★" } else { "" },
            esc(&e.algorithm.to_string()),
            esc(&param_text(&e.params)),
            e.n_clusters,
            opt(e.silhouette),
            e.noise_fraction,
            opt(e.cv_qab),
            esc(e.rejected.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</table>\n</section>\n");
    s
}

fn taxonomy_node(t: &Taxonomy, n: &TaxonomyNode, out: &mut String) {
    let name = n.label.as_ref().map(|l| l.text.as_str()).unwrap_or(&n.name);
    let _ = write!(
        out,
        "<details class=\"mark\"{}><summary><b>{}</b> — {} items{} <span class=\"kw\">{}</span></summary>",
        if n.depth < 1 { " open" } else { "" },
        esc(name),
        n.size,
        if n.noise > 0 {
            format!(" ({} unassigned)", n.noise)
        } else {
            String::new()
        },
        esc(&n.keywords.join(", "))
    );
    for &c in &n.children {
        if let Some(child) = t.nodes.get(c) {
            taxonomy_node(t, child, out);
        }
    }
    out.push_str("</details>\n");
}

fn taxonomy_tree(t: &Taxonomy) -> String {
    let mut s = format!(
        "<section id=\"taxonomy\"><h2>Taxonomy</h2><p>{} items in {} nodes, {} levels deep. Click a node to open it: its size, name and keywords.</p>\n<div data-chart=\"taxonomy\">",
        t.n_items,
        t.nodes.len(),
        t.max_depth()
    );
    if let Some(root) = t.nodes.first() {
        taxonomy_node(t, root, &mut s);
    }
    s.push_str("</div></section>\n");
    s
}

/// Largest number of routes drawn as a full matrix; above it, the most
/// frequent confusions are listed instead.
const FULL_MATRIX: usize = 30;

fn routes_section(r: &RoutesConfusion) -> String {
    let k = r.names.len();
    let total: usize = r.matrix.iter().flatten().sum();
    let correct: usize = (0..=k).map(|i| r.matrix[i][i]).sum();
    let mut s = format!(
        "<section id=\"routes\"><h2>Routes</h2><p>{total} labelled lines; {:.1} % routed right (an out-of-scope line is right when no route matches).</p>\n",
        100.0 * correct as f64 / total.max(1) as f64
    );
    let name = |i: usize, row: bool| -> String {
        if i < k {
            r.names[i].clone()
        } else if row {
            "(out of scope)".into()
        } else {
            "(none)".into()
        }
    };
    let max = r.matrix.iter().flatten().copied().max().unwrap_or(1).max(1);
    if k <= FULL_MATRIX {
        s.push_str("<h3>Confusion matrix</h3><p>Rows: the true route; columns: the route matched.</p>\n<table class=\"cm\" data-chart=\"routes-confusion\"><tr><th class=\"l\">true \\ matched</th>");
        for j in 0..=k {
            let _ = write!(s, "<th>{}</th>", esc(&name(j, false)));
        }
        s.push_str("</tr>\n");
        for i in 0..=k {
            if r.matrix[i].iter().sum::<usize>() == 0 {
                continue;
            }
            let _ = write!(s, "<tr><th class=\"l\">{}</th>", esc(&name(i, true)));
            for j in 0..=k {
                let n = r.matrix[i][j];
                if n == 0 {
                    s.push_str("<td></td>");
                } else {
                    let v = n as f64 / max as f64;
                    let (fill, white) = if i == j {
                        (format!("rgba(44,160,44,{:.2})", 0.15 + 0.85 * v), v > 0.6)
                    } else {
                        heat_colour(v.max(0.15))
                    };
                    let _ = write!(
                        s,
                        "<td class=\"mark\" style=\"background:{fill};color:{}\" title=\"{} → {}: {n}\">{n}</td>",
                        if white { "white" } else { "#222" },
                        esc(&name(i, true)),
                        esc(&name(j, false))
                    );
                }
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table>\n");
    } else {
        let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
        for i in 0..=k {
            for j in 0..=k {
                if i != j && r.matrix[i][j] > 0 {
                    pairs.push((r.matrix[i][j], i, j));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let _ = write!(
            s,
            "<h3>Most frequent confusions</h3><p>{k} routes are too many for a full matrix: the 30 most frequent mistakes.</p>\n<table class=\"cm\" data-chart=\"routes-confusion\"><tr><th class=\"l\">true route</th><th class=\"l\">matched</th><th>lines</th></tr>\n"
        );
        for (n, i, j) in pairs.into_iter().take(30) {
            let _ = writeln!(
                s,
                "<tr class=\"mark\"><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{n}</td></tr>",
                esc(&name(i, true)),
                esc(&name(j, false))
            );
        }
        s.push_str("</table>\n");
    }
    // Per-route accuracy: horizontal bars, worst first.
    let mut acc = r.per_route_accuracy();
    acc.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    let label_w = acc
        .iter()
        .map(|(n, _, _)| text_width(n, 12.0))
        .fold(60.0f64, f64::max)
        + 12.0;
    let bw = 420.0;
    let rh = 18.0;
    let w = label_w + bw + 120.0;
    let h = 30.0 + rh * acc.len() as f64;
    let _ = writeln!(
        s,
        r#"<h3>Per-route accuracy</h3><p>Share of each route's lines matched to it, worst first.</p><svg data-chart="routes-accuracy" xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12"><rect width="{w:.0}" height="{h:.0}" fill="white"/>"#
    );
    for (i, (n, lines, a)) in acc.iter().enumerate() {
        let y = 10.0 + rh * i as f64;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{label_w:.1}" y="{y:.1}" width="{bw}" height="{:.1}" fill="#eee"/><rect class="mark" x="{label_w:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#4e79a7"><title>{}: {:.1} % of {lines} lines</title></rect><text x="{:.1}" y="{:.1}">{:.0} % of {lines}</text>"##,
            label_w - 6.0,
            y + rh - 6.0,
            esc(n),
            rh - 4.0,
            (bw * a).max(1.0),
            rh - 4.0,
            esc(n),
            a * 100.0,
            label_w + bw + 6.0,
            y + rh - 6.0,
            a * 100.0
        );
    }
    s.push_str("</svg>\n</section>\n");
    s
}
