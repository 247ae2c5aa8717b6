//! What the pool loads models with: the Cactus engine by default, or any
//! [`ModelBackend`] (tests instrument loads and frees with one).

use std::path::Path;

use cactus_sys::{
    CactusError, CactusModel, CancelToken, ChatMessage, CompleteOptions, Completion, TokenAction,
};

/// A loaded generator. Dropping it frees the model.
pub trait LoadedModel: Send {
    /// Generates a completion, streaming tokens to `on_token`.
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &CompleteOptions,
        cancel: Option<&CancelToken>,
        on_token: &mut dyn FnMut(&str, u32) -> TokenAction,
    ) -> Result<Completion, CactusError>;
}

/// Loads models from files.
pub trait ModelBackend: Send + Sync {
    /// Loads the model at `path`; `name` is its profile name.
    fn load(&self, name: &str, path: &Path) -> Result<Box<dyn LoadedModel>, CactusError>;
}

/// The Cactus engine (`cactus_init` / `cactus_complete` / `cactus_destroy`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CactusBackend;

impl LoadedModel for CactusModel {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &CompleteOptions,
        cancel: Option<&CancelToken>,
        on_token: &mut dyn FnMut(&str, u32) -> TokenAction,
    ) -> Result<Completion, CactusError> {
        self.complete_streaming(messages, options, cancel, on_token)
    }
}

impl ModelBackend for CactusBackend {
    fn load(&self, _name: &str, path: &Path) -> Result<Box<dyn LoadedModel>, CactusError> {
        Ok(Box::new(CactusModel::open(path)?))
    }
}
