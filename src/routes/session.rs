//! [`RouteSession`]: turn-by-turn routing of a conversation.

use std::sync::Arc;

use super::error::RoutesError;
use super::set::{RouteMatch, RouteSet};
use crate::embed::Embedder;

/// Routes the turns of one conversation, keeping context.
///
/// Each turn adds its route scores to a decayed evidence vector,
/// `e_t = decay · e_{t−1} + p_t`, and the route is the evidence's best. A
/// turn that is confident on its own (score ≥ `switch`) for another route
/// than the current one resets the evidence to its own scores, so a change
/// of topic is followed at once while short domain-less turns ("yes,
/// please") keep the current route. "None" is answered only when the turn
/// is below the threshold and no earlier turn was confident.
///
/// ```
/// use aurora_router::routes::{RouteSet, RouteSession};
/// let json = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
///   "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
///   "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
///   "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
///   "session":{"decay":0.7,"switch":0.8}}}"#;
/// let mut s = RouteSession::new(RouteSet::from_json(json).unwrap().into());
/// assert_eq!(s.push_embedding(&[1.0, 0.0]).unwrap().route.as_deref(), Some("weather"));
/// // An unsure turn keeps the conversation's route.
/// assert_eq!(s.push_embedding(&[1.0, 1.05]).unwrap().route.as_deref(), Some("weather"));
/// s.reset();
/// assert_eq!(s.push_embedding(&[1.0, 1.05]).unwrap().route, None);
/// ```
#[derive(Debug, Clone)]
pub struct RouteSession {
    routes: Arc<RouteSet>,
    evidence: Vec<f32>,
    turn: Vec<f32>,
    current: Option<usize>,
    held: bool,
}

impl RouteSession {
    /// A new, empty session over `routes`.
    pub fn new(routes: Arc<RouteSet>) -> Self {
        let k = routes.len();
        RouteSession {
            routes,
            evidence: vec![0.0; k],
            turn: vec![0.0; k],
            current: None,
            held: false,
        }
    }

    /// The route set.
    pub fn routes(&self) -> &RouteSet {
        &self.routes
    }

    /// Forgets every turn.
    pub fn reset(&mut self) {
        self.evidence.iter_mut().for_each(|e| *e = 0.0);
        self.current = None;
        self.held = false;
    }

    /// Routes the next turn, given its embedding. The answer's `score` is the
    /// route's share of the decayed evidence; the runner-up likewise.
    pub fn push_embedding(&mut self, embedding: &[f32]) -> Result<RouteMatch, RoutesError> {
        let in_scope = self.routes.scores_into(embedding, &mut self.turn)?;
        let own = self.routes.decide(&self.turn, in_scope);
        let p = self.routes.session_params();
        let switch = self.current.is_some_and(|c| c != own.best_index) && own.score >= p.switch;
        if switch || self.current.is_none() {
            self.evidence.copy_from_slice(&self.turn);
        } else {
            for (e, t) in self.evidence.iter_mut().zip(&self.turn) {
                *e = p.decay * *e + t;
            }
        }
        let total: f32 = self.evidence.iter().sum();
        let shares: Vec<f32> = self.evidence.iter().map(|e| e / total).collect();
        let mut m = self.routes.decide(&shares, in_scope);
        let confident = own.route.is_some();
        if confident || self.held {
            m.route = Some(self.routes.names()[m.best_index].clone());
        } else {
            m.route = None;
        }
        self.held |= confident;
        self.current = Some(m.best_index);
        Ok(m)
    }

    /// Embeds the turn's text with `embedder` (the routes' model) and routes it.
    pub fn push_text(
        &mut self,
        text: &str,
        embedder: &dyn Embedder,
    ) -> Result<RouteMatch, RoutesError> {
        if text.trim().is_empty() {
            return Err(RoutesError::EmptyText);
        }
        self.routes.check_embedder(embedder)?;
        let v = embedder.embed(text)?;
        self.push_embedding(&v)
    }
}
