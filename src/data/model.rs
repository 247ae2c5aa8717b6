//! The models a router chooses between.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A model the router can pick, with its relative cost per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Relative cost of one call (> 0).
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub cost: f64,
    /// Other fields (`params_b`, `size_mb`, `path` on the device, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ModelInfo {
    /// The model file's path on the device (`path` field), if given.
    pub fn path(&self) -> Option<&str> {
        self.extra.get("path").and_then(Value::as_str)
    }
}
