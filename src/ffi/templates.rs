//! The C ABI of reply templates: load a `templates` section, re-embedding
//! it with a serving embedder, and match texts or embeddings.

use std::ffi::{c_char, CString};
use std::ptr;

use super::{c_str, check_ptr, cstring_lossy, embedder, guard, status, AuroraStatus, FfiError};
use crate::templates::{TemplateError, TemplateSet};

/// A loaded template set (opaque). Immutable: share it across threads.
pub struct AuroraTemplates {
    set: TemplateSet,
    texts: Box<[(CString, CString)]>,
}

/// The best template for a query, as returned to C.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuroraTemplateMatch {
    /// Index of the template (see `aurora_templates_response`).
    pub template: u32,
    /// Cosine similarity to the template (plus its coherence term).
    pub score: f32,
    /// 1 when the score clears the threshold ("a template fits"), else 0.
    pub matched: u8,
}

impl From<TemplateError> for FfiError {
    fn from(e: TemplateError) -> Self {
        let s = match &e {
            TemplateError::Embed(_) => AuroraStatus::Embedder,
            TemplateError::Dimension { .. } => AuroraStatus::Dimension,
            TemplateError::InvalidEmbedding(_) => AuroraStatus::InvalidEmbedding,
            TemplateError::ModelMismatch { .. } | TemplateError::CalibrationDimension { .. } => {
                AuroraStatus::EmbedderMismatch
            }
            TemplateError::InvalidParam { .. } => AuroraStatus::InvalidArgument,
            _ => AuroraStatus::Profile,
        };
        FfiError::new(s, e.to_string())
    }
}

/// Borrows a templates handle.
///
/// # Safety
///
/// `t` is NULL or a live handle from `aurora_templates_load*`.
unsafe fn templates<'a>(t: *const AuroraTemplates) -> Result<&'a AuroraTemplates, FfiError> {
    check_ptr(t, "templates")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(unsafe { &*t })
}

/// # Safety
///
/// `json` points to `len` readable bytes (or is NULL).
unsafe fn load(
    json: *const u8,
    len: usize,
    e: *const super::AuroraEmbedder,
    threshold: Option<f32>,
) -> Result<*mut AuroraTemplates, FfiError> {
    check_ptr(json, "json")?;
    // SAFETY: forwarded contract.
    let e = unsafe { embedder(e) }?;
    // SAFETY: `len` readable bytes by the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(json, len) };
    let set = match threshold {
        Some(t) => TemplateSet::load_with_threshold(bytes, &*e.embedder, t)?,
        None => TemplateSet::load(bytes, &*e.embedder)?,
    };
    let texts = (0..set.len())
        .map(|i| {
            let t = set.template(i);
            (
                cstring_lossy(&t.representative_incoming),
                cstring_lossy(&t.representative_response),
            )
        })
        .collect();
    Ok(Box::into_raw(Box::new(AuroraTemplates { set, texts })))
}

/// Loads a profile file (`len` bytes of JSON) holding a `templates`
/// section and re-embeds every template with the serving embedder `e`,
/// using the section's calibrated threshold for `e`'s model (an error,
/// `AURORA_STATUS_PROFILE`, when there is none). Returns `NULL` on error.
///
/// # Safety
///
/// `json` points to `len` readable bytes; `e` is a live embedder.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_load(
    json: *const u8,
    len: usize,
    e: *const super::AuroraEmbedder,
) -> *mut AuroraTemplates {
    // SAFETY: forwarded contract.
    guard(|_| ptr::null_mut(), || unsafe { load(json, len, e, None) })
}

/// As `aurora_templates_load`, with an explicit `threshold` instead of the
/// calibrated one. Returns `NULL` on error.
///
/// # Safety
///
/// `json` points to `len` readable bytes; `e` is a live embedder.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_load_with_threshold(
    json: *const u8,
    len: usize,
    e: *const super::AuroraEmbedder,
    threshold: f32,
) -> *mut AuroraTemplates {
    // SAFETY: forwarded contract.
    guard(
        |_| ptr::null_mut(),
        || unsafe { load(json, len, e, Some(threshold)) },
    )
}

/// Frees a template set. `NULL` is a no-op.
///
/// # Safety
///
/// `t` is NULL or a handle from `aurora_templates_load*` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_free(t: *mut AuroraTemplates) {
    if t.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `Box::into_raw` in `load`.
            drop(unsafe { Box::from_raw(t) });
            Ok(())
        },
    )
}

/// Number of templates (0 on error).
///
/// # Safety
///
/// `t` is NULL or a live template set.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_count(t: *const AuroraTemplates) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { templates(t) }?.set.len()))
}

/// The threshold in use (NaN on error).
///
/// # Safety
///
/// `t` is NULL or a live template set.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_threshold(t: *const AuroraTemplates) -> f32 {
    // SAFETY: forwarded contract.
    guard(
        |_| f32::NAN,
        || Ok(unsafe { templates(t) }?.set.threshold()),
    )
}

fn text_at(t: &AuroraTemplates, index: usize, response: bool) -> Result<*const c_char, FfiError> {
    let (i, r) = t.texts.get(index).ok_or_else(|| {
        FfiError::new(
            AuroraStatus::InvalidArgument,
            format!(
                "template {index} is out of range: there are {}",
                t.texts.len()
            ),
        )
    })?;
    Ok(if response { r.as_ptr() } else { i.as_ptr() })
}

/// Template `index`'s representative incoming message, borrowed (lives as
/// long as `t`). `NULL` on error.
///
/// # Safety
///
/// `t` is NULL or a live template set.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_incoming(
    t: *const AuroraTemplates,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    guard(
        |_| ptr::null(),
        || text_at(unsafe { templates(t) }?, index, false),
    )
}

/// Template `index`'s representative response, borrowed (lives as long as
/// `t`). `NULL` on error.
///
/// # Safety
///
/// `t` is NULL or a live template set.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_response(
    t: *const AuroraTemplates,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    guard(
        |_| ptr::null(),
        || text_at(unsafe { templates(t) }?, index, true),
    )
}

fn write_match(m: crate::templates::TemplateMatch, out: *mut AuroraTemplateMatch) {
    let v = AuroraTemplateMatch {
        template: m.template as u32,
        score: m.score,
        matched: u8::from(m.matched),
    };
    // SAFETY: checked non-NULL and aligned; writable by the caller's contract.
    unsafe { out.write(v) };
}

/// Matches an embedding of `dim` floats made by the serving model.
/// Returns 0 or a negative `AuroraStatus`; writes `out` on success.
///
/// # Safety
///
/// `t` is a live template set; `embedding` points to `dim` floats; `out`
/// is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_match_embedding(
    t: *const AuroraTemplates,
    embedding: *const f32,
    dim: usize,
    out: *mut AuroraTemplateMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let t = unsafe { templates(t) }?;
        check_ptr(embedding, "embedding")?;
        check_ptr(out, "out")?;
        // SAFETY: `dim` readable floats by the caller's contract.
        let q = unsafe { std::slice::from_raw_parts(embedding, dim) };
        write_match(t.set.match_embedding(q)?, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// Embeds `text` with `e` (the serving embedder the set was loaded with)
/// and matches it. Returns 0 or a negative `AuroraStatus`.
///
/// # Safety
///
/// `t` and `e` are live handles; `text` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_templates_match_text(
    t: *const AuroraTemplates,
    e: *const super::AuroraEmbedder,
    text: *const c_char,
    out: *mut AuroraTemplateMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let t = unsafe { templates(t) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { embedder(e) }?;
        // SAFETY: forwarded contract.
        let text = unsafe { c_str(text, "text") }?;
        check_ptr(out, "out")?;
        write_match(t.set.match_text(text, &*e.embedder)?, out);
        Ok(status(AuroraStatus::Ok))
    })
}
