//! The routing core: the maths every router and every router simulation
//! shares, written once.
//!
//! * [`Centroids`] — nearest centroid over the float16-rounded centroids of
//!   a profile, re-normalised to unit length, with the SIMD kernels of the
//!   hot path (one pass, the softmax confidence accumulated online);
//! * [`TopK`] and [`mix`] — soft assignment: the `top_k` most similar
//!   clusters, mixed with weights `exp((s − s_max) / T)`;
//! * [`error_rates`] — shrinkage of per-cluster error rates toward a
//!   model's global error;
//! * [`choose`] / [`choose_among`] — the λ choice rule: the model minimising
//!   `error + λ · cost / max_cost`, with its tie-breaking;
//! * [`unit_row`] — row normalisation.
//!
//! The [`Router`](crate::route::Router), `aurora eval`'s curves, routing
//! cross-validation, `add-model` and the kNN and UniRoute baselines all call
//! these functions, so a simulation scores exactly what the router does.
//!
//! ```
//! use aurora_router::routing::{choose, error_rates, Centroids};
//! // Two clusters in 2-D, stored off the unit circle (as float16 rounding does).
//! let c = Centroids::new(&[2.0, 0.0, 0.0, 0.5], 2);
//! assert_eq!(c.nearest(&[0.1, 0.9]).unwrap(), 1);
//! assert_eq!(c.row(1), &[0.0, 1.0]);
//! // Shrunk rates, then the λ rule.
//! let rates = error_rates(&[10, 0], &[2.0, 0.0], 0.5, 10.0);
//! assert_eq!(rates[1], 0.5);
//! assert_eq!(choose(&[0.4, 0.1], &[1.0, 10.0], 0.0), 1);
//! ```

mod centroids;
mod choose;
pub(crate) mod kernel;
mod mix;
mod shrink;

pub(crate) use centroids::QueryNorm;
pub use centroids::{unit_row, Centroids, VectorError};
pub use choose::{choose, choose_among};
pub use mix::{mix, TopK};
pub use shrink::{error_rates, round6, shrunk_rate, DEFAULT_PSEUDO_COUNT};

/// Largest `top_k` of soft assignment.
pub const MAX_SOFT_TOP_K: usize = 64;

/// Default softmax temperature of the soft weights and the confidence.
pub const DEFAULT_TEMPERATURE: f32 = 0.05;
