//! Reply templates: patterns mined offline from a message history
//! ("wanna grab lunch?" → "yeah, what time works?"), stored as **text**, and
//! matched on the device after re-embedding them with the serving model.
//!
//! * [`TemplatesSection`] — the `templates` section of a profile file: the
//!   templates' texts and counts, the mining model's name, and one
//!   calibrated threshold per serving model. No vectors.
//! * [`TemplateSet`] — the runtime (lean library): loads a section,
//!   re-embeds every template with the serving [`Embedder`](crate::embed::Embedder)
//!   and matches a text or an embedding in microseconds.
//! * `mine`, `calibrate`, `eval` (feature `builder`) — the offline miner
//!   (spherical KMeans on the incoming messages, then on the responses),
//!   threshold calibration from held-out pairs, and evaluation against a
//!   retrieval baseline.
//!
//! ```
//! # if cactus_sys::is_mock() {
//! use aurora_router::embed::CactusEmbedder;
//! use aurora_router::templates::{Template, TemplateSet, TemplatesSection};
//!
//! let mut section = TemplatesSection::new("hand-written");
//! section.templates.push(Template::new("wanna grab lunch?", "yeah, what time works?", 12));
//! section.templates.push(Template::new("where is the station?", "two blocks north.", 7));
//! let bytes = section.to_file_json().unwrap();
//!
//! let serving = CactusEmbedder::mock(384).unwrap();
//! let set = TemplateSet::load_with_threshold(&bytes, &serving, 0.5).unwrap();
//! let m = set.match_text("want to grab lunch?", &serving).unwrap();
//! assert_eq!(m.template, 0);
//! assert_eq!(set.template(m.template).representative_response, "yeah, what time works?");
//! # }
//! ```

mod error;
mod runtime;
mod section;

pub use error::TemplateError;
pub use runtime::{TemplateMatch, TemplateSet};
pub use section::{Calibration, Template, TemplatesSection, FORMAT_MAJOR, FORMAT_VERSION};

#[cfg(feature = "builder")]
mod calibrate;
#[cfg(feature = "builder")]
mod eval;
#[cfg(feature = "builder")]
mod lookup;
#[cfg(feature = "builder")]
mod mine;
#[cfg(feature = "builder")]
mod pairs;

#[cfg(feature = "builder")]
pub use calibrate::{calibrate, curve, CurvePoint, DEFAULT_TARGET_PRECISION};
#[cfg(feature = "builder")]
pub use eval::{evaluate, retrieval_baseline, BaselineReport, EvalReport, Scored};
#[cfg(feature = "builder")]
pub use lookup::LookupEmbedder;
#[cfg(feature = "builder")]
pub use mine::{mine, MineParams, MineValidParams, DEFAULT_COHERENCE_WEIGHT};
#[cfg(feature = "builder")]
pub use pairs::{read_dialogue_pairs, read_pairs, Pair, PairSet};
