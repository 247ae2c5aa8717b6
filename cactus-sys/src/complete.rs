//! Chat completion through `cactus_complete`: typed messages and options,
//! tokens streamed to a Rust closure, cancellation, and the engine's JSON
//! response parsed into a [`Completion`].
//!
//! # Streaming and panics
//!
//! The closure given to [`CactusModel::complete_streaming`] is called from
//! the engine's C callback through a trampoline that runs it inside
//! [`std::panic::catch_unwind`]: a panic never unwinds through C. It stops
//! the generation (`cactus_stop`) and the call returns
//! [`CactusError::CallbackPanicked`].
//!
//! # Cancellation
//!
//! The closure can return [`TokenAction::Stop`]; any thread can call
//! [`CancelToken::cancel`] on a clone of the token passed in the request.
//! Either way the trampoline calls `cactus_stop` on the model, which ends the
//! generation after the current token; the call then returns `Ok` with the
//! partial response and [`Completion::cancelled`] set. A token cancelled
//! before the call starts makes it return [`CactusError::Cancelled`] without
//! running the model.
//!
//! ```
//! use cactus_sys::{CactusModel, ChatMessage, CompleteOptions, TokenAction};
//! # if !cactus_sys::is_mock() { return Ok(()); }
//! let model = CactusModel::open("mock:")?;
//! let messages = [ChatMessage::user("Which is a prime?\nA. 4\nB. 7\nC. 9")];
//! let mut streamed = String::new();
//! let done = model.complete_streaming(
//!     &messages,
//!     &CompleteOptions::new().max_tokens(64),
//!     None,
//!     |token, _id| {
//!         streamed.push_str(token);
//!         TokenAction::Continue
//!     },
//! )?;
//! assert_eq!(streamed, done.response);
//! assert!(done.response.contains("The answer is ("));
//! assert_eq!(done.total_tokens, done.prefill_tokens + done.decode_tokens);
//! # Ok::<(), cactus_sys::CactusError>(())
//! ```

use std::any::Any;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bindings as ffi;
use crate::safe::{completion_args, failure_message, last_error, CactusError, CactusModel};

/// First completion buffer size, in bytes.
pub(crate) const INITIAL_COMPLETE_CAPACITY: usize = 16 * 1024;
/// Largest completion buffer the wrapper will allocate, in bytes.
pub(crate) const MAX_COMPLETE_CAPACITY: usize = 64 << 20;

/// One chat message (`{"role","content"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
}

/// Serialises messages into the JSON array `cactus_complete` expects.
pub fn messages_to_json(messages: &[ChatMessage]) -> String {
    serde_json::to_string(messages).unwrap_or_else(|_| "[]".into())
}

/// Generation options, serialised into `options_json`.
///
/// ```
/// let o = cactus_sys::CompleteOptions::new().max_tokens(16).temperature(0.0);
/// assert_eq!(o.to_json(), r#"{"max_tokens":16,"temperature":0.0}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompleteOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl CompleteOptions {
    /// The engine's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Largest number of generated tokens.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Sampling temperature (0 = greedy).
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Nucleus sampling threshold.
    pub fn top_p(mut self, p: f32) -> Self {
        self.top_p = Some(p);
        self
    }

    /// Top-k sampling.
    pub fn top_k(mut self, k: u32) -> Self {
        self.top_k = Some(k);
        self
    }

    /// Adds a stop sequence.
    pub fn stop_sequence(mut self, s: impl Into<String>) -> Self {
        self.stop_sequences.push(s.into());
        self
    }

    /// Any other engine option, passed through verbatim.
    pub fn option(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    /// The `options_json` string.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// What the streaming closure wants after a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAction {
    /// Keep generating.
    Continue,
    /// Stop after this token (`cactus_stop`).
    Stop,
}

/// A cancellation flag shared between threads: clone it, pass one clone to
/// the completion and call [`cancel`](Self::cancel) on another.
///
/// ```
/// let token = cactus_sys::CancelToken::new();
/// let other = token.clone();
/// std::thread::spawn(move || other.cancel()).join().unwrap();
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not cancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation; a running completion stops after its current
    /// token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The engine's response to `cactus_complete`, parsed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Completion {
    /// Whether the engine succeeded (always true in a returned `Completion`).
    pub success: bool,
    /// The generated text (without function calls).
    #[serde(default)]
    pub response: String,
    /// Function calls the model made, as the engine reported them.
    #[serde(default)]
    pub function_calls: Vec<Value>,
    /// Whether the engine handed the request to a cloud model.
    #[serde(default)]
    pub cloud_handoff: bool,
    /// The engine's confidence (1 − mean token entropy), if reported.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Time to the first token, in milliseconds, as the engine measured it.
    #[serde(default)]
    pub time_to_first_token_ms: f64,
    /// Total generation time, in milliseconds, as the engine measured it.
    #[serde(default)]
    pub total_time_ms: f64,
    /// Prompt tokens per second.
    #[serde(default)]
    pub prefill_tps: f64,
    /// Generated tokens per second.
    #[serde(default)]
    pub decode_tps: f64,
    /// The engine's memory use, in MB, if reported.
    #[serde(default)]
    pub ram_usage_mb: Option<f64>,
    /// Prompt tokens.
    #[serde(default)]
    pub prefill_tokens: u64,
    /// Generated tokens.
    #[serde(default)]
    pub decode_tokens: u64,
    /// `prefill_tokens + decode_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
    /// Set by the wrapper: the generation was stopped by
    /// [`TokenAction::Stop`] or a [`CancelToken`], so `response` is partial.
    #[serde(skip)]
    pub cancelled: bool,
    /// Other fields of the response, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Completion {
    /// Parses a `cactus_complete` response; a `"success": false` response
    /// becomes [`CactusError::CompleteFailed`] with the engine's `error`.
    pub fn from_json(json: &str) -> Result<Completion, CactusError> {
        let value: Value = serde_json::from_str(json).map_err(|e| CactusError::BadResponse {
            reason: format!("not JSON: {e}"),
        })?;
        if value.get("success") != Some(&Value::Bool(true)) {
            let message = value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the engine answered success=false without an error")
                .to_string();
            return Err(CactusError::CompleteFailed { message });
        }
        serde_json::from_value(value).map_err(|e| CactusError::BadResponse {
            reason: e.to_string(),
        })
    }
}

/// State shared with the C trampoline for one `cactus_complete` call.
struct Stream<'a> {
    on_token: &'a mut dyn FnMut(&str, u32) -> TokenAction,
    model: ffi::cactus_model_t,
    cancel: Option<&'a CancelToken>,
    /// Tokens already delivered by an earlier attempt (buffer retry).
    skip: usize,
    /// Tokens seen in this attempt.
    seen: usize,
    /// Tokens delivered to the closure over all attempts.
    delivered: usize,
    stopped: bool,
    panic: Option<Box<dyn Any + Send>>,
}

/// The `cactus_token_callback` given to the engine: forwards one token to the
/// closure. Nothing in here may unwind into C.
unsafe extern "C" fn trampoline(token: *const c_char, token_id: u32, user_data: *mut c_void) {
    if user_data.is_null() {
        return;
    }
    // SAFETY: user_data is the `&mut Stream` passed to cactus_complete by
    // `complete_streaming`, alive and exclusively ours for the whole call.
    let state = unsafe { &mut *user_data.cast::<Stream<'_>>() };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        state.seen += 1;
        if state.stopped || state.panic.is_some() {
            return TokenAction::Stop;
        }
        if state.seen <= state.skip {
            return TokenAction::Continue;
        }
        if state.cancel.is_some_and(CancelToken::is_cancelled) {
            return TokenAction::Stop;
        }
        let text = if token.is_null() {
            std::borrow::Cow::Borrowed("")
        } else {
            // SAFETY: the engine passes a NUL-terminated string valid for
            // the duration of this call.
            unsafe { CStr::from_ptr(token) }.to_string_lossy()
        };
        state.delivered += 1;
        (state.on_token)(&text, token_id)
    }));
    let stop = match outcome {
        Ok(TokenAction::Continue) => false,
        Ok(TokenAction::Stop) => true,
        Err(payload) => {
            state.panic.get_or_insert(payload);
            true
        }
    };
    if stop {
        state.stopped = true;
        // SAFETY: the model handle is live for the whole call; cactus_stop
        // only sets a flag the generation loop checks.
        unsafe { ffi::cactus_stop(state.model) };
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

/// The `"error"` of an error JSON the engine wrote into the buffer, if any.
pub(crate) fn buffer_error(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| b == 0)?;
    let text = std::str::from_utf8(&buf[..end]).ok()?;
    let value: Value = serde_json::from_str(text).ok()?;
    value.get("error")?.as_str().map(str::to_string)
}

impl CactusModel {
    /// Asks a running completion on this model to stop after the current
    /// token (`cactus_stop`). Mostly useful from inside a streaming closure
    /// that holds the model; other threads use a [`CancelToken`].
    pub fn stop(&self) {
        // SAFETY: the handle is live.
        unsafe { ffi::cactus_stop(self.as_raw()) }
    }

    /// Clears the model's conversation state (`cactus_reset`).
    pub fn reset(&self) {
        // SAFETY: the handle is live.
        unsafe { ffi::cactus_reset(self.as_raw()) }
    }

    /// Runs a completion without streaming and parses the response.
    pub fn complete_messages(
        &self,
        messages: &[ChatMessage],
        options: &CompleteOptions,
    ) -> Result<Completion, CactusError> {
        self.complete_streaming(messages, options, None, |_, _| TokenAction::Continue)
    }

    /// Runs a completion, streaming each generated token (its text and id)
    /// to `on_token`, which may stop the generation; `cancel` lets another
    /// thread stop it. See the [module docs](self) for panics and
    /// cancellation.
    ///
    /// If the engine says the response buffer was too small the call is
    /// retried with a larger one; tokens the closure already received are
    /// not delivered again.
    pub fn complete_streaming<F>(
        &self,
        messages: &[ChatMessage],
        options: &CompleteOptions,
        cancel: Option<&CancelToken>,
        mut on_token: F,
    ) -> Result<Completion, CactusError>
    where
        F: FnMut(&str, u32) -> TokenAction,
    {
        if messages.is_empty() {
            return Err(CactusError::NoMessages);
        }
        self.complete_json_streaming(
            &messages_to_json(messages),
            Some(&options.to_json()),
            cancel,
            &mut on_token,
        )
    }

    /// [`complete_streaming`](Self::complete_streaming) on raw JSON strings.
    pub fn complete_json_streaming(
        &self,
        messages_json: &str,
        options_json: Option<&str>,
        cancel: Option<&CancelToken>,
        on_token: &mut dyn FnMut(&str, u32) -> TokenAction,
    ) -> Result<Completion, CactusError> {
        if cancel.is_some_and(CancelToken::is_cancelled) {
            return Err(CactusError::Cancelled);
        }
        let (c_messages, c_options) = completion_args(messages_json, options_json)?;
        let options_ptr = c_options.as_ref().map_or(ptr::null(), |c| c.as_ptr());

        let mut state = Stream {
            on_token,
            model: self.as_raw(),
            cancel,
            skip: 0,
            seen: 0,
            delivered: 0,
            stopped: false,
            panic: None,
        };
        let mut capacity = INITIAL_COMPLETE_CAPACITY;
        loop {
            let mut buf = vec![0u8; capacity];
            state.skip = state.delivered;
            state.seen = 0;
            let before = last_error();
            // SAFETY: handle is live; strings are NUL-terminated or NULL; buf
            // holds `capacity` bytes; `state` outlives the call and is only
            // touched by the trampoline during it.
            let rc = unsafe {
                ffi::cactus_complete(
                    self.as_raw(),
                    c_messages.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    capacity,
                    options_ptr,
                    ptr::null(),
                    Some(trampoline),
                    (&mut state as *mut Stream<'_>).cast(),
                )
            };
            if let Some(payload) = state.panic.take() {
                return Err(CactusError::CallbackPanicked {
                    message: panic_message(payload.as_ref()),
                });
            }
            if rc >= 0 {
                let len = match rc as usize {
                    n if n > 0 && n < capacity => n,
                    _ => buf.iter().position(|&b| b == 0).unwrap_or(capacity),
                };
                buf.truncate(len);
                let text = String::from_utf8(buf).map_err(|_| CactusError::InvalidUtf8)?;
                let mut completion = Completion::from_json(&text)?;
                completion.cancelled = state.stopped;
                return Ok(completion);
            }
            let message = buffer_error(&buf).unwrap_or_else(|| {
                failure_message(&before, format!("cactus_complete returned {rc}"))
            });
            let too_small = rc == -2 || message.to_ascii_lowercase().contains("buffer too small");
            if too_small && capacity < MAX_COMPLETE_CAPACITY {
                capacity *= 4;
                continue;
            }
            return Err(CactusError::CompleteFailed { message });
        }
    }
}
