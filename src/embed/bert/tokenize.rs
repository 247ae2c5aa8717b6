//! WordPiece tokenization with the folder's `tokenizer.json`, truncated to
//! the model's `max_seq_length` (the tokenizer file's own padding and
//! truncation settings are replaced, as sentence-transformers does).

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use crate::embed::{EmbedError, ModelError};

/// A text's token ids ([CLS] … [SEP]), at most `max_seq_length` of them.
pub(crate) type Ids = Vec<u32>;

/// The folder's tokenizer, set to truncate at `max_len` tokens.
pub(crate) struct WordPiece {
    tokenizer: Tokenizer,
}

impl WordPiece {
    pub(crate) fn load(path: &Path, max_len: usize) -> Result<Self, ModelError> {
        let bad = |reason: String| ModelError::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        let mut tokenizer =
            Tokenizer::from_file(path).map_err(|e| bad(format!("not a tokenizer: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| bad(format!("cannot truncate at {max_len}: {e}")))?;
        tokenizer.with_padding(None);
        Ok(Self { tokenizer })
    }

    /// Token ids of one text. Empty (or whitespace-only) text is an error.
    pub(crate) fn encode(&self, text: &str) -> Result<Ids, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| ModelError::Tokenize(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
}
