//! A hand-written SVG of an evaluation: curves, hull, single models, oracle.

use std::fmt::Write as _;

use super::hull::CostAccuracy;
use super::svg::{esc, fmt_tick, nice_step, text_width, Labeller};
use super::EvalReport;

const W: f64 = 1100.0;
const H: f64 = 600.0;
/// Plot area.
const X0: f64 = 70.0;
const Y0: f64 = 50.0;
const PW: f64 = 620.0;
const PH: f64 = 480.0;
/// Legend column.
const LX: f64 = 720.0;

const ROUTER: &str = "#1f77b4";
const KNN: &str = "#ff7f0e";
const UNIROUTE: &str = "#9467bd";
const HULL: &str = "#555555";
const ORACLE: &str = "#2ca02c";

struct Axes {
    x_max: f64,
    y_min: f64,
    y_max: f64,
}

impl Axes {
    fn x(&self, c: f64) -> f64 {
        X0 + PW * (c / self.x_max).clamp(0.0, 1.0)
    }
    fn y(&self, a: f64) -> f64 {
        Y0 + PH * (1.0 - ((a - self.y_min) / (self.y_max - self.y_min)).clamp(0.0, 1.0))
    }
    fn polyline<P: CostAccuracy>(&self, pts: &[P]) -> String {
        let mut v: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.cost(), p.accuracy()))
            .filter(|(c, a)| c.is_finite() && a.is_finite())
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        v.iter()
            .map(|&(c, a)| format!("{:.1},{:.1}", self.x(c), self.y(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Renders `report` as a self-contained SVG: mean cost per prompt (x)
/// against accuracy (y), with the router's curve, the kNN baseline's (if
/// any), the upper hull of single models (dashed), the oracle's frontier
/// (dotted) and point, the UniRoute baseline's (if any), every single model
/// as a numbered dot, and a legend with the QAB mean of each. Every drawn
/// data element has the class `mark` (the browser test counts them).
pub fn plot_svg(report: &EvalReport) -> String {
    let mut accs: Vec<f64> = Vec::new();
    accs.extend(report.points.iter().map(|p| p.accuracy));
    accs.extend(report.models.iter().map(|p| p.accuracy));
    accs.push(report.oracle.accuracy);
    if let Some(k) = &report.knn {
        accs.extend(k.points.iter().map(|p| p.accuracy));
    }
    if let Some(u) = &report.uniroute {
        accs.extend(u.points.iter().map(|p| p.accuracy));
    }
    let accs: Vec<f64> = accs.into_iter().filter(|a| a.is_finite()).collect();
    let lo = accs.iter().copied().fold(1.0, f64::min);
    let hi = accs.iter().copied().fold(0.0, f64::max);
    let (mut y_min, mut y_max) = (
        ((lo - 0.02) * 20.0).floor() / 20.0,
        ((hi + 0.02) * 20.0).ceil() / 20.0,
    );
    y_min = y_min.max(0.0);
    y_max = y_max.min(1.0);
    if y_max - y_min < 0.1 {
        y_min = (y_max - 0.1).max(0.0);
        y_max = (y_min + 0.1).min(1.0);
    }
    let x_max = if report.max_cost.is_finite() && report.max_cost > 0.0 {
        report.max_cost * 1.05
    } else {
        1.0
    };
    let ax = Axes {
        x_max,
        y_min,
        y_max,
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="28" font-size="15" text-anchor="middle">Deferral curve on {} prompts</text>"#,
        X0 + PW / 2.0,
        report.n_prompts
    );

    // Grid and ticks.
    let xs = nice_step(x_max, 8.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let x = ax.x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{Y0}" x2="{x:.1}" y2="{:.1}" stroke="#e6e6e6"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            Y0 + PH,
            Y0 + PH + 16.0,
            fmt_tick(t, xs)
        );
        t += xs;
    }
    let ys = nice_step(y_max - y_min, 8.0);
    let mut t = (y_min / ys).ceil() * ys;
    while t <= y_max + 1e-9 {
        let y = ax.y(t);
        let _ = writeln!(
            s,
            r##"<line x1="{X0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e6e6e6"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            X0 + PW,
            X0 - 6.0,
            y + 4.0,
            fmt_tick(t, ys)
        );
        t += ys;
    }
    let _ = writeln!(
        s,
        r#"<rect x="{X0}" y="{Y0}" width="{PW}" height="{PH}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">mean cost per prompt (model cost units)</text>"#,
        X0 + PW / 2.0,
        Y0 + PH + 38.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22,{:.1}) rotate(-90)" text-anchor="middle" font-size="13">accuracy</text>"#,
        Y0 + PH / 2.0
    );

    // Curves.
    let _ = writeln!(
        s,
        r#"<polyline class="mark" points="{}" fill="none" stroke="{ORACLE}" stroke-width="1.5" stroke-dasharray="2,3"/>"#,
        ax.polyline(&report.oracle.curve)
    );
    let _ = writeln!(
        s,
        r#"<polyline class="mark" points="{}" fill="none" stroke="{HULL}" stroke-width="1.5" stroke-dasharray="6,4"/>"#,
        ax.polyline(&report.hull)
    );
    if let Some(k) = &report.knn {
        let _ = writeln!(
            s,
            r#"<polyline class="mark" points="{}" fill="none" stroke="{KNN}" stroke-width="2"/>"#,
            ax.polyline(&k.points)
        );
    }
    if let Some(u) = &report.uniroute {
        let _ = writeln!(
            s,
            r#"<polyline class="mark" points="{}" fill="none" stroke="{UNIROUTE}" stroke-width="2" stroke-dasharray="8,2,2,2"/>"#,
            ax.polyline(&u.points)
        );
    }
    let _ = writeln!(
        s,
        r#"<polyline class="mark" points="{}" fill="none" stroke="{ROUTER}" stroke-width="2.2"/>"#,
        ax.polyline(&report.points)
    );
    if report.points.len() == 1 {
        let p = report.points[0];
        let _ = writeln!(
            s,
            r#"<circle class="mark" cx="{:.1}" cy="{:.1}" r="4" fill="{ROUTER}"/>"#,
            ax.x(p.mean_cost),
            ax.y(p.accuracy)
        );
    }
    // Oracle point: a diamond.
    let (ox, oy) = (ax.x(report.oracle.mean_cost), ax.y(report.oracle.accuracy));
    let _ = writeln!(
        s,
        r#"<path class="mark" d="M{ox:.1},{:.1} L{:.1},{oy:.1} L{ox:.1},{:.1} L{:.1},{oy:.1} Z" fill="{ORACLE}"/>"#,
        oy - 6.0,
        ox + 6.0,
        oy + 6.0,
        ox - 6.0
    );
    // Single models: numbered dots, labels placed so that none overlap.
    let mut labels = Labeller::new((X0, Y0, X0 + PW, Y0 + PH));
    for m in &report.models {
        let (x, y) = (ax.x(m.cost), ax.y(m.accuracy));
        labels.reserve((x - 4.0, y - 4.0, x + 4.0, y + 4.0));
    }
    for (i, m) in report.models.iter().enumerate() {
        let (x, y) = (ax.x(m.cost), ax.y(m.accuracy));
        let _ = writeln!(
            s,
            r#"<circle class="mark" cx="{x:.1}" cy="{y:.1}" r="4" fill="black"><title>{} (cost {}, accuracy {:.3})</title></circle>"#,
            esc(&m.name),
            m.cost,
            m.accuracy,
        );
        let text = format!("{}", i + 1);
        if let Some((tx, ty)) = labels.place(x, y, text_width(&text, 11.0), 11.0) {
            let _ = writeln!(
                s,
                r#"<text x="{tx:.1}" y="{ty:.1}" font-size="11">{text}</text>"#
            );
        }
    }

    // Legend.
    let mut ly = Y0 + 8.0;
    let mut entries: Vec<(&str, &str, String)> = vec![(
        ROUTER,
        "none",
        format!("router (QAB {:.3})", report.qab.mean),
    )];
    if let Some(k) = &report.knn {
        entries.push((
            KNN,
            "none",
            format!("kNN, k = {} (QAB {:.3})", k.k, k.qab.mean),
        ));
    }
    if let Some(u) = &report.uniroute {
        entries.push((
            UNIROUTE,
            "8,2,2,2",
            format!("UniRoute, K = {} (QAB {:.3})", u.k, u.qab.mean),
        ));
    }
    entries.push((
        HULL,
        "6,4",
        format!("hull of single models (QAB {:.3})", report.hull_qab),
    ));
    entries.push((
        ORACLE,
        "2,3",
        format!("oracle (QAB {:.3})", report.oracle.qab.mean),
    ));
    for (color, dash, label) in entries {
        let _ = writeln!(
            s,
            r#"<line x1="{LX}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LX + 26.0,
            LX + 34.0,
            ly + 4.0,
            esc(&label)
        );
        ly += 20.0;
    }
    ly += 8.0;
    let _ = writeln!(
        s,
        r#"<text x="{LX}" y="{:.1}" font-weight="bold">Single models (cost, accuracy, QAB)</text>"#,
        ly + 4.0
    );
    ly += 20.0;
    for (i, m) in report.models.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{ly:.1}" r="4" fill="black"/><text x="{:.1}" y="{:.1}">{}. {} ({}, {:.3}, QAB {:.3})</text>"#,
            LX + 13.0,
            LX + 34.0,
            ly + 4.0,
            i + 1,
            esc(&m.name),
            m.cost,
            m.accuracy,
            m.qab_mean
        );
        ly += 18.0;
    }
    s.push_str("</svg>\n");
    s
}
