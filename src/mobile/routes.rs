//! Semantic routes for Swift and Kotlin: `RouteSet` and `RouteSession`.

use std::sync::{Arc, Mutex};

use super::{Checked, Embedder, RouterError};
use crate::routes::{self, RoutesError};

impl From<RoutesError> for RouterError {
    fn from(e: RoutesError) -> Self {
        match e {
            RoutesError::Profile(p) => p.into(),
            RoutesError::Embed(x) => x.into(),
            RoutesError::EmbedderMismatch {
                routes_model,
                routes_is_mock,
                embedder_model,
                embedder_is_mock,
                ..
            } => RouterError::EmbedderMismatch {
                profile_model: routes_model,
                profile_is_mock: routes_is_mock,
                embedder_model,
                embedder_is_mock,
            },
            RoutesError::Dimension { expected, got } => RouterError::Dimension {
                expected: expected as u64,
                got: got as u64,
            },
            e @ RoutesError::InvalidEmbedding { .. } => RouterError::InvalidEmbedding {
                reason: e.to_string(),
            },
            e @ RoutesError::EmptyText => RouterError::Embed {
                reason: e.to_string(),
            },
            e => RouterError::InvalidOption {
                reason: e.to_string(),
            },
        }
    }
}

/// The answer of a route match (`RouteMatch` in Swift and Kotlin).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RouteMatch {
    /// The route, or `null`/`nil` for "none".
    pub route: Option<String>,
    /// The best route's score in [0, 1] (even when `route` is none).
    pub score: f32,
    /// The best route's name (even when `route` is none).
    pub best: String,
    /// The runner-up route, if there are two routes or more.
    pub runner_up: Option<String>,
    /// The runner-up's score (0 when there is none).
    pub runner_up_score: f32,
    /// `score - runner_up_score`.
    pub margin: f32,
}

impl RouteMatch {
    fn from_core(set: &routes::RouteSet, m: &routes::RouteMatch) -> Self {
        RouteMatch {
            route: m.route.clone(),
            score: m.score,
            best: set.names()[m.best_index].clone(),
            runner_up: m.runner_up.as_ref().map(|r| r.route.clone()),
            runner_up_score: m.runner_up.as_ref().map_or(0.0, |r| r.score),
            margin: m.margin,
        }
    }
}

fn embed_checked(
    set: &routes::RouteSet,
    text: &str,
    embedder: &Arc<dyn Embedder>,
) -> Result<Vec<f32>, RouterError> {
    if text.trim().is_empty() {
        return Err(RoutesError::EmptyText.into());
    }
    let checked = Checked {
        model_id: embedder.model_id(),
        dim: embedder.dim() as usize,
        is_mock: embedder.is_mock(),
    };
    set.check_embedder(&checked)?;
    embedder.embed(text.to_string())
}

/// A loaded route set (`RouteSet` in Swift and Kotlin): immutable and thread-safe.
#[derive(Debug, uniffi::Object)]
#[uniffi(name = "RouteSet")]
pub struct MobileRouteSet {
    inner: Arc<routes::RouteSet>,
}

#[uniffi::export(name = "RouteSet")]
impl MobileRouteSet {
    /// Loads routes from route-file JSON text.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Self::from_bytes(json.into_bytes())
    }

    /// Loads routes from route-file bytes.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(MobileRouteSet {
            inner: Arc::new(routes::RouteSet::from_json(&bytes)?),
        }))
    }

    /// Loads routes from a route file (or a profile holding a `routes` section).
    #[uniffi::constructor]
    pub fn from_path(path: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(MobileRouteSet {
            inner: Arc::new(routes::RouteSet::from_path(path)?),
        }))
    }

    /// Number of routes.
    pub fn route_count(&self) -> u32 {
        crate::ffi::fault::point();
        self.inner.len() as u32
    }

    /// Route names, in index order.
    pub fn route_names(&self) -> Vec<String> {
        crate::ffi::fault::point();
        self.inner.names().to_vec()
    }

    /// The embedding model the routes were built with.
    pub fn embedding_model(&self) -> String {
        crate::ffi::fault::point();
        self.inner.embedding_model().to_string()
    }

    /// Matches one embedding.
    pub fn match_embedding(&self, embedding: Vec<f32>) -> Result<RouteMatch, RouterError> {
        crate::ffi::fault::point();
        let m = self.inner.match_embedding(&embedding)?;
        Ok(RouteMatch::from_core(&self.inner, &m))
    }

    /// Embeds `text` with `embedder` (the routes' model) and matches it.
    pub fn match_text(
        &self,
        text: String,
        embedder: Arc<dyn Embedder>,
    ) -> Result<RouteMatch, RouterError> {
        crate::ffi::fault::point();
        let v = embed_checked(&self.inner, &text, &embedder)?;
        self.match_embedding(v)
    }

    /// A new conversation over these routes.
    pub fn session(&self) -> Arc<MobileRouteSession> {
        crate::ffi::fault::point();
        MobileRouteSession::new(self)
    }
}

/// One conversation's routing (`RouteSession` in Swift and Kotlin).
#[derive(Debug, uniffi::Object)]
#[uniffi(name = "RouteSession")]
pub struct MobileRouteSession {
    set: Arc<routes::RouteSet>,
    inner: Mutex<routes::RouteSession>,
}

#[uniffi::export(name = "RouteSession")]
impl MobileRouteSession {
    /// A new, empty conversation over `routes`.
    #[uniffi::constructor]
    pub fn new(routes: &MobileRouteSet) -> Arc<Self> {
        crate::ffi::fault::point();
        Arc::new(MobileRouteSession {
            set: routes.inner.clone(),
            inner: Mutex::new(routes::RouteSession::new(routes.inner.clone())),
        })
    }

    /// Routes the next turn, given its embedding.
    pub fn push_embedding(&self, embedding: Vec<f32>) -> Result<RouteMatch, RouterError> {
        crate::ffi::fault::point();
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let m = s.push_embedding(&embedding)?;
        Ok(RouteMatch::from_core(&self.set, &m))
    }

    /// Embeds the next turn's text with `embedder` and routes it.
    pub fn push_text(
        &self,
        text: String,
        embedder: Arc<dyn Embedder>,
    ) -> Result<RouteMatch, RouterError> {
        crate::ffi::fault::point();
        let v = embed_checked(&self.set, &text, &embedder)?;
        self.push_embedding(v)
    }

    /// Forgets every turn.
    pub fn reset(&self) {
        crate::ffi::fault::point();
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"version":"3.0","routes":{"format":"softmax-head-v1",
      "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
      "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
      "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
      "session":{"decay":0.7,"switch":0.8}}}"#;

    #[test]
    fn route_set_and_session() {
        let r = MobileRouteSet::from_json(JSON.into()).unwrap();
        assert_eq!(r.route_count(), 2);
        let m = r.match_embedding(vec![1.0, 0.0]).unwrap();
        assert_eq!(m.route.as_deref(), Some("weather"));
        assert_eq!(m.runner_up.as_deref(), Some("music"));
        assert!(matches!(
            r.match_embedding(vec![1.0]),
            Err(RouterError::Dimension {
                expected: 2,
                got: 1
            })
        ));
        let s = r.session();
        s.push_embedding(vec![1.0, 0.0]).unwrap();
        assert_eq!(
            s.push_embedding(vec![1.0, 1.05]).unwrap().route.as_deref(),
            Some("weather")
        );
        s.reset();
        assert_eq!(s.push_embedding(vec![1.0, 1.05]).unwrap().route, None);
        assert!(MobileRouteSet::from_json("{}".into()).is_err());
    }
}
