//! The taxonomy statistics equal scipy.stats on the same tables. Expected
//! values come from `python benches/peers/taxonomy_stats_peer.py tables`
//! (scipy 1.17.1).

use aurora_router::taxonomy::stats::{bh_qvalues, chi2_contingency, cramers_v, fisher_exact};

fn t(rows: &[[f64; 2]]) -> Vec<Vec<f64>> {
    rows.iter().map(|r| r.to_vec()).collect()
}

fn close(a: f64, b: f64, rel: f64) {
    assert!(
        (a - b).abs() <= rel * b.abs().max(1e-300),
        "{a} vs scipy {b}"
    );
}

/// A table and scipy's χ², dof, p and Cramér's V.
type Case<'a> = (&'a [[f64; 2]], f64, usize, f64, f64);

#[test]
fn chi2_and_cramers_v_match_scipy() {
    let cases: [Case; 3] = [
        (
            &[[30., 10.], [20., 20.], [5., 25.]],
            23.333333333333336,
            2,
            8.57493910267228e-06,
            0.46056618647183833,
        ),
        (
            &[[40., 20.], [25., 35.]],
            6.579020979020978,
            1,
            0.010318763168636474,
            0.2508726030021272,
        ),
        (
            &[[12., 5.], [7., 9.], [30., 2.], [3., 3.]],
            15.682108091212193,
            3,
            0.0013174850818858414,
            0.46997315013525937,
        ),
    ];
    for (table, stat, dof, p, v) in cases {
        let tab = t(table);
        let c = chi2_contingency(&tab, true).unwrap();
        close(c.statistic, stat, 1e-12);
        assert_eq!(c.dof, dof);
        close(c.p_value, p, 1e-9);
        close(cramers_v(&tab).unwrap(), v, 1e-12);
    }
}

#[test]
fn fisher_matches_scipy() {
    let cases = [
        ((8, 2, 1, 5), 0.034965034965034975),
        ((3, 40, 10, 12), 0.0005264921670288607),
        ((0, 7, 12, 3), 0.0007036307345904869),
        ((1, 120, 9, 330), 0.4664557475363329),
    ];
    for ((a, b, c, d), p) in cases {
        close(fisher_exact(a, b, c, d), p, 1e-9);
    }
}

#[test]
fn bh_matches_scipy() {
    let q = bh_qvalues(&[0.01, 0.04, 0.03, 0.2, 0.001, 0.5, 0.04]);
    let want = [0.035, 0.056, 0.056, 0.23333333333333336, 0.007, 0.5, 0.056];
    for (a, b) in q.iter().zip(want) {
        close(*a, b, 1e-12);
    }
}

#[test]
fn degenerate_tables_have_no_test() {
    // A model right on every item: a zero column (scipy raises).
    assert!(chi2_contingency(&t(&[[5., 0.], [7., 0.]]), true).is_none());
    assert!(cramers_v(&t(&[[5., 0.], [7., 0.]])).is_none());
    assert_eq!(fisher_exact(5, 0, 7, 0), 1.0);
}
