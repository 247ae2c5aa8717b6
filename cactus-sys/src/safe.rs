//! Safe wrapper around a Cactus model handle.
//!
//! [`CactusModel`] owns a `cactus_model_t`, destroys it on drop, negotiates
//! buffer sizes with the engine and turns its return codes into
//! [`CactusError`]s.
//!
//! # About `cactus_get_last_error`
//!
//! The engine's last-error string is not necessarily reset by successful
//! calls, so after a failure it may describe an *earlier* failure. The
//! wrapper therefore reads it only right after the failing call, on the same
//! thread, and compares it with the text it held just before the call: if it
//! did not change, the message says that it may be left over from an earlier
//! call instead of presenting it as the cause.

use std::cell::Cell;
use std::ffi::{c_void, CStr, CString};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

use crate::bindings as ffi;

/// First embedding buffer size, in floats, when the dimension is unknown.
const INITIAL_EMBED_CAPACITY: usize = 1024;
/// Largest embedding dimension the wrapper will allocate for.
const MAX_EMBED_DIM: usize = 1 << 24;
use crate::complete::{INITIAL_COMPLETE_CAPACITY, MAX_COMPLETE_CAPACITY};
/// Text embedded by [`CactusModel::embedding_dim`] to learn the dimension.
const DIM_PROBE_TEXT: &str = "dimension probe";

/// Errors of the safe wrapper.
#[derive(Debug, thiserror::Error)]
pub enum CactusError {
    /// The model path does not exist.
    #[error("Cactus model not found: {}", path.display())]
    ModelNotFound {
        /// The path given to [`CactusModel::open`].
        path: PathBuf,
    },
    /// `cactus_init` returned NULL.
    #[error("cactus_init failed for {}: {message}", path.display())]
    InitFailed {
        /// The path given to [`CactusModel::open`].
        path: PathBuf,
        /// Cactus's error message, or a description of the failure.
        message: String,
    },
    /// A string passed to Cactus contains a NUL byte, which C cannot see past.
    #[error("{what} contains an interior NUL byte")]
    InteriorNul {
        /// Which argument: `"model path"`, `"text"`, `"messages_json"`, ...
        what: &'static str,
    },
    /// The text to embed is empty or whitespace-only.
    #[error("cannot embed empty or whitespace-only text")]
    EmptyText,
    /// `cactus_embed` failed.
    #[error("cactus_embed failed: {message}")]
    EmbedFailed {
        /// Cactus's error message, or a description of the failure.
        message: String,
    },
    /// `cactus_embed` kept saying the buffer is too small, reported an
    /// implausible dimension, or claimed to write past the buffer.
    #[error("cactus_embed buffer size negotiation failed")]
    BufferNegotiation,
    /// `cactus_embed` returned NaN or an infinity.
    #[error("cactus_embed returned a non-finite value")]
    NonFinite,
    /// `cactus_complete` failed.
    #[error("cactus_complete failed: {message}")]
    CompleteFailed {
        /// Cactus's error message, or a description of the failure.
        message: String,
    },
    /// The completion response is not the JSON the engine documents.
    #[error("cactus_complete returned an unexpected response: {reason}")]
    BadResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// The completion was cancelled (its [`CancelToken`](crate::CancelToken)
    /// was cancelled) before it started.
    #[error("the completion was cancelled before it started")]
    Cancelled,
    /// The streaming closure panicked; the generation was stopped and the
    /// panic did not cross the C boundary.
    #[error("the token callback panicked: {message}")]
    CallbackPanicked {
        /// The panic message.
        message: String,
    },
    /// A completion was asked for with no message.
    #[error("a completion needs at least one message")]
    NoMessages,
    /// Text exchanged with Cactus is not valid UTF-8 (a completion response,
    /// or a non-UTF-8 model path on a platform whose paths are not bytes).
    #[error("text exchanged with Cactus is not valid UTF-8")]
    InvalidUtf8,
}

/// A loaded Cactus model.
///
/// # Thread safety
///
/// A Cactus model handle is not safe to call from two threads at once (the
/// engine keeps per-model mutable state: KV cache, scratch buffers), so
/// `CactusModel` is [`Send`] (it may move to another thread) but not
/// [`Sync`] (it cannot be shared by reference between threads). To use
/// several threads, open one model per thread, or put it behind a `Mutex`.
///
/// ```
/// fn assert_send<T: Send>() {}
/// assert_send::<cactus_sys::CactusModel>();
/// ```
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<cactus_sys::CactusModel>();
/// ```
#[derive(Debug)]
pub struct CactusModel {
    handle: NonNull<c_void>,
    path: PathBuf,
    /// Embedding dimension, known after the first successful embed.
    dim: Cell<Option<usize>>,
    /// Makes the type `!Sync` explicitly (the `Cell` above already does).
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the handle is owned exclusively by this value and Cactus does not
// tie a model to the thread that created it; only concurrent use is unsafe,
// which `!Sync` (together with `&self` methods) rules out.
unsafe impl Send for CactusModel {}

impl CactusModel {
    /// Loads the model at `path` with `cactus_init(path, NULL, false)`.
    ///
    /// The path is checked to exist first, for a clean
    /// [`CactusError::ModelNotFound`]; with the mock, the virtual paths
    /// `"mock:"` and `"mock:N"` are exempt (see [`crate::MOCK_DEFAULT_MODEL`]).
    pub fn open(path: impl AsRef<Path>) -> Result<CactusModel, CactusError> {
        let path = path.as_ref();
        let c_path = path_to_cstring(path)?;
        let virtual_mock = crate::is_mock()
            && path
                .to_str()
                .is_some_and(|s| s.starts_with(crate::MOCK_PATH_PREFIX));
        if !virtual_mock && matches!(path.try_exists(), Ok(false)) {
            return Err(CactusError::ModelNotFound {
                path: path.to_path_buf(),
            });
        }

        let before = last_error();
        // SAFETY: c_path is a valid NUL-terminated string; corpus_dir may be NULL.
        let raw = unsafe { ffi::cactus_init(c_path.as_ptr(), ptr::null(), false) };
        match NonNull::new(raw) {
            Some(handle) => Ok(CactusModel {
                handle,
                path: path.to_path_buf(),
                dim: Cell::new(None),
                _not_sync: PhantomData,
            }),
            None => Err(CactusError::InitFailed {
                path: path.to_path_buf(),
                message: failure_message(&before, "cactus_init returned NULL".into()),
            }),
        }
    }

    /// The path this model was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw handle, still owned by `self` (do not destroy it).
    pub fn as_raw(&self) -> ffi::cactus_model_t {
        self.handle.as_ptr()
    }

    /// Embeds `text`; with `normalize` the vector has unit L2 norm.
    ///
    /// The first call uses a buffer of 1024 floats; if Cactus answers -2
    /// (buffer too small) it is grown to the dimension Cactus reports and the
    /// call is retried. The dimension is then cached for later calls.
    pub fn embed(&self, text: &str, normalize: bool) -> Result<Vec<f32>, CactusError> {
        if text.trim().is_empty() {
            return Err(CactusError::EmptyText);
        }
        let c_text = CString::new(text).map_err(|_| CactusError::InteriorNul { what: "text" })?;

        let mut capacity = self.dim.get().unwrap_or(INITIAL_EMBED_CAPACITY);
        for _ in 0..3 {
            let mut buf = vec![0f32; capacity];
            let mut reported: usize = 0;
            let before = last_error();
            // SAFETY: handle is live; c_text is NUL-terminated; buf holds
            // `capacity` floats, whose size in bytes is what we pass.
            let rc = unsafe {
                ffi::cactus_embed(
                    self.handle.as_ptr(),
                    c_text.as_ptr(),
                    buf.as_mut_ptr(),
                    capacity * std::mem::size_of::<f32>(),
                    &mut reported,
                    normalize,
                )
            };
            match rc {
                n if n > 0 => {
                    let n = n as usize;
                    if n > capacity {
                        return Err(CactusError::BufferNegotiation);
                    }
                    buf.truncate(n);
                    if buf.iter().any(|x| !x.is_finite()) {
                        return Err(CactusError::NonFinite);
                    }
                    self.dim.set(Some(n));
                    return Ok(buf);
                }
                -2 => {
                    if reported <= capacity || reported > MAX_EMBED_DIM {
                        return Err(CactusError::BufferNegotiation);
                    }
                    capacity = reported;
                }
                0 => {
                    return Err(CactusError::EmbedFailed {
                        message: failure_message(&before, "cactus_embed wrote no floats".into()),
                    })
                }
                rc => {
                    return Err(CactusError::EmbedFailed {
                        message: failure_message(&before, format!("cactus_embed returned {rc}")),
                    })
                }
            }
        }
        Err(CactusError::BufferNegotiation)
    }

    /// The embedding dimension: cached after the first successful
    /// [`embed`](Self::embed), otherwise learnt by embedding a fixed probe
    /// text.
    pub fn embedding_dim(&self) -> Result<usize, CactusError> {
        match self.dim.get() {
            Some(dim) => Ok(dim),
            None => Ok(self.embed(DIM_PROBE_TEXT, false)?.len()),
        }
    }

    /// Runs `cactus_complete` on a JSON array of chat messages and returns the
    /// engine's JSON response verbatim (check its `"success"` field).
    ///
    /// No tools, no streaming callback. See
    /// [`complete_messages`](Self::complete_messages) and
    /// [`complete_streaming`](Self::complete_streaming) for the typed,
    /// streaming API. The response buffer starts
    /// at 16 KiB and grows (up to 64 MiB) while Cactus says it is too small.
    pub fn complete(
        &self,
        messages_json: &str,
        options_json: Option<&str>,
    ) -> Result<String, CactusError> {
        let (c_messages, c_options) = completion_args(messages_json, options_json)?;
        let options_ptr = c_options.as_ref().map_or(ptr::null(), |c| c.as_ptr());

        let mut capacity = INITIAL_COMPLETE_CAPACITY;
        loop {
            let mut buf = vec![0u8; capacity];
            let before = last_error();
            // SAFETY: handle is live; the strings are NUL-terminated or NULL;
            // buf holds `capacity` bytes; no callback.
            let rc = unsafe {
                ffi::cactus_complete(
                    self.handle.as_ptr(),
                    c_messages.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    capacity,
                    options_ptr,
                    ptr::null(),
                    None,
                    ptr::null_mut(),
                )
            };
            if rc >= 0 {
                let len = match rc as usize {
                    n if n > 0 && n < capacity => n,
                    // 0 (or an impossible length): trust the NUL terminator.
                    _ => buf.iter().position(|&b| b == 0).unwrap_or(capacity),
                };
                buf.truncate(len);
                return String::from_utf8(buf).map_err(|_| CactusError::InvalidUtf8);
            }
            let message = crate::complete::buffer_error(&buf).unwrap_or_else(|| {
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

impl Drop for CactusModel {
    fn drop(&mut self) {
        // SAFETY: the handle came from cactus_init and is destroyed once.
        unsafe { ffi::cactus_destroy(self.handle.as_ptr()) }
    }
}

#[cfg(unix)]
fn path_to_cstring(path: &Path) -> Result<CString, CactusError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| CactusError::InteriorNul { what: "model path" })
}

#[cfg(not(unix))]
fn path_to_cstring(path: &Path) -> Result<CString, CactusError> {
    let s = path.to_str().ok_or(CactusError::InvalidUtf8)?;
    CString::new(s).map_err(|_| CactusError::InteriorNul { what: "model path" })
}

/// A copy of `cactus_get_last_error()` ("" when none).
pub(crate) fn last_error() -> String {
    // SAFETY: returns NULL or a NUL-terminated string that stays valid until
    // the next Cactus call on this thread; it is copied at once.
    unsafe {
        let p = ffi::cactus_get_last_error();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// Describes a failure right after the failing call. `before` is the last
/// error as it was just before that call: an unchanged message may be stale.
pub(crate) fn failure_message(before: &str, fallback: String) -> String {
    let after = last_error();
    if after.is_empty() {
        fallback
    } else if after == before {
        format!(
            "{fallback} (Cactus's last error, possibly left over from an earlier call: {after})"
        )
    } else {
        after
    }
}

/// The messages and options JSON of a completion call as C strings, with a
/// typed error naming the argument that holds an interior NUL.
pub(crate) fn completion_args(
    messages_json: &str,
    options_json: Option<&str>,
) -> Result<(CString, Option<CString>), CactusError> {
    let messages = CString::new(messages_json).map_err(|_| CactusError::InteriorNul {
        what: "messages_json",
    })?;
    let options =
        options_json
            .map(CString::new)
            .transpose()
            .map_err(|_| CactusError::InteriorNul {
                what: "options_json",
            })?;
    Ok((messages, options))
}
