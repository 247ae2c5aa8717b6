//! Semantic routes: named routes learned from example utterances, a
//! calibrated "none", and turn-by-turn routing of a conversation.
//!
//! * [`RouteSet`] — the `routes` profile section (a linear softmax head over
//!   normalised embeddings, stored as float16, plus a fitted threshold) and
//!   its matching: [`RouteSet::match_embedding`], [`RouteSet::match_text`].
//! * [`RouteSession`] — routes the turns of a conversation with decayed
//!   evidence and switch detection.
//! * `RoutesBuilder` (feature `builder`) — trains the head from examples and
//!   fits the threshold on validation lines or by cross-validation.
//!
//! The wire format is documented in `profiles/SCHEMA.md` (section `routes`).

mod error;
mod session;
mod set;

pub use error::RoutesError;
pub use session::RouteSession;
pub use set::{
    BuildInfo, NoneRule, RouteMatch, RouteSet, ScoredRoute, SessionParams, ROUTES_FORMAT,
};

#[cfg(feature = "builder")]
mod build;
#[cfg(feature = "builder")]
mod data;
#[cfg(feature = "builder")]
mod eval;
#[cfg(feature = "builder")]
mod train;
#[cfg(feature = "builder")]
pub use build::{RoutesBuilder, RoutesParams, RoutesValidParams};
#[cfg(feature = "builder")]
pub use data::{read_dialogues, read_examples, read_json_map, Dialogue, Example, Turn};
#[cfg(feature = "builder")]
pub use eval::{
    evaluate_dialogues, evaluate_prompts, match_labelled, DialogueEval, PromptEval, RouteStats,
};
