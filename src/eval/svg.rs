//! Small helpers shared by the hand-written SVG charts: escaping, tick
//! steps, colours and a greedy label placer that never lets two labels
//! overlap.

/// Escapes text for SVG/HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round tick step giving about `target` ticks over `range`.
pub(crate) fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    }
}

/// A tick value with as many decimals as the step needs.
pub(crate) fn fmt_tick(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Ten well-separated colours (Tableau 10), then golden-angle hues.
pub(crate) fn category_colour(i: usize) -> String {
    const T10: [&str; 10] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
        "#9c755f", "#bab0ac",
    ];
    if i < T10.len() {
        return T10[i].to_string();
    }
    let h = (i as f64 * 137.508) % 360.0;
    let l = if i % 2 == 0 { 42 } else { 58 };
    format!("hsl({h:.0},62%,{l}%)")
}

/// White → dark red for `v` in `[0, 1]`; also whether text on it should be white.
pub(crate) fn heat_colour(v: f64) -> (String, bool) {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
    (
        format!(
            "rgb({},{},{})",
            lerp(255.0, 165.0),
            lerp(247.0, 15.0),
            lerp(236.0, 21.0)
        ),
        v > 0.55,
    )
}

/// Approximate width of `text` at `font_size` px (Helvetica-like average).
pub(crate) fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().count() as f64 * font_size * 0.56
}

/// An axis-aligned box `(x0, y0, x1, y1)`.
type BoxF = (f64, f64, f64, f64);

/// Places text labels greedily: each label tries a few positions around its
/// anchor and takes the first that overlaps no earlier label or reserved
/// box and stays inside the bounds; a label with no free position is
/// dropped (the caller lists everything elsewhere).
pub(crate) struct Labeller {
    taken: Vec<BoxF>,
    bounds: BoxF,
}

impl Labeller {
    /// Labels must stay inside `bounds`.
    pub(crate) fn new(bounds: BoxF) -> Self {
        Self {
            taken: Vec::new(),
            bounds,
        }
    }

    /// Marks a box as occupied (a marker, a legend).
    pub(crate) fn reserve(&mut self, b: BoxF) {
        self.taken.push(b);
    }

    /// The baseline-left position `(x, y)` of a label of size `w × h` near
    /// the anchor `(ax, ay)`, or `None` when every candidate collides.
    pub(crate) fn place(&mut self, ax: f64, ay: f64, w: f64, h: f64) -> Option<(f64, f64)> {
        let cands = [
            (ax + 6.0, ay + h / 2.0 - 2.0),
            (ax - 6.0 - w, ay + h / 2.0 - 2.0),
            (ax - w / 2.0, ay - 7.0),
            (ax - w / 2.0, ay + h + 5.0),
            (ax + 6.0, ay - 6.0),
            (ax - 6.0 - w, ay - 6.0),
            (ax + 6.0, ay + h + 2.0),
            (ax - 6.0 - w, ay + h + 2.0),
        ];
        for (x, y) in cands {
            let b = (x - 1.0, y - h, x + w + 1.0, y + 3.0);
            let inside = b.0 >= self.bounds.0
                && b.1 >= self.bounds.1
                && b.2 <= self.bounds.2
                && b.3 <= self.bounds.3;
            if inside && !self.taken.iter().any(|t| overlaps(*t, b)) {
                self.taken.push(b);
                return Some((x, y));
            }
        }
        None
    }
}

fn overlaps(a: BoxF, b: BoxF) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_overlap() {
        let mut l = Labeller::new((0.0, 0.0, 200.0, 200.0));
        let mut placed = Vec::new();
        for i in 0..40 {
            let (ax, ay) = (50.0 + (i % 5) as f64 * 3.0, 50.0 + (i / 5) as f64 * 3.0);
            if let Some((x, y)) = l.place(ax, ay, 40.0, 10.0) {
                placed.push((x - 1.0, y - 10.0, x + 41.0, y + 3.0));
            }
        }
        assert!(!placed.is_empty());
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
