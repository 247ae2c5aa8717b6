//! Reading a sentence-transformers folder: the BERT config, the module list,
//! the pooling config and the maximum sequence length.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::embed::ModelError;

/// The fields of a Hugging Face BERT `config.json` the forward pass needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

#[derive(Debug, Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Pooling {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// Everything read from a model folder, checked.
#[derive(Debug, Clone)]
pub(crate) struct FolderConfig {
    pub bert: BertConfig,
    /// Tokens kept per text, [CLS] and [SEP] included.
    pub max_seq_length: usize,
    /// Whether a `Normalize` module follows pooling.
    pub normalize: bool,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

fn require(dir: &Path, file: &str) -> Result<PathBuf, ModelError> {
    let p = dir.join(file);
    if p.is_file() {
        Ok(p)
    } else {
        Err(ModelError::MissingFile {
            dir: dir.to_path_buf(),
            file: file.to_string(),
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::BadFile {
        path: path.to_path_buf(),
        reason: format!("cannot read: {e}"),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ModelError::BadFile {
        path: path.to_path_buf(),
        reason: format!("invalid JSON: {e}"),
    })
}

impl FolderConfig {
    /// Reads and checks the folder's configuration files (not the weights).
    pub(crate) fn load(dir: &Path) -> Result<Self, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "the folder itself".into(),
            });
        }
        let config_path = require(dir, "config.json")?;
        let modules_path = require(dir, "modules.json")?;
        let weights = require(dir, "model.safetensors")?;
        let tokenizer = require(dir, "tokenizer.json")?;

        // model_type first: a config of another architecture may lack BERT's fields.
        let raw: serde_json::Value = read_json(&config_path)?;
        let model_type = raw.get("model_type").and_then(|v| v.as_str());
        if model_type != Some("bert") {
            return Err(ModelError::NotBert {
                path: config_path,
                got: model_type.unwrap_or("(none)").to_string(),
            });
        }
        let bert: BertConfig = serde_json::from_value(raw).map_err(|e| ModelError::BadFile {
            path: config_path.clone(),
            reason: format!("not a BERT config: {e}"),
        })?;
        let unsupported = |what: String| ModelError::Unsupported {
            path: config_path.clone(),
            what,
        };
        if bert.hidden_act != "gelu" {
            return Err(unsupported(format!(
                "hidden_act {:?} (only \"gelu\")",
                bert.hidden_act
            )));
        }
        if let Some(p) = &bert.position_embedding_type {
            if p != "absolute" {
                return Err(unsupported(format!("position_embedding_type {p:?}")));
            }
        }
        if bert.num_attention_heads == 0
            || bert.hidden_size == 0
            || bert.hidden_size % bert.num_attention_heads != 0
        {
            return Err(unsupported(format!(
                "hidden_size {} with {} attention heads",
                bert.hidden_size, bert.num_attention_heads
            )));
        }

        let modules: Vec<Module> = read_json(&modules_path)?;
        let has = |suffix: &str| modules.iter().find(|m| m.kind.ends_with(suffix));
        if has(".Transformer").is_none() {
            return Err(ModelError::Unsupported {
                path: modules_path,
                what: "module list without a Transformer module".into(),
            });
        }
        let Some(pooling) = has(".Pooling") else {
            return Err(ModelError::Unsupported {
                path: modules_path,
                what: "module list without a Pooling module".into(),
            });
        };
        if let Some(m) = modules.iter().find(|m| {
            !m.kind.ends_with(".Transformer")
                && !m.kind.ends_with(".Pooling")
                && !m.kind.ends_with(".Normalize")
        }) {
            return Err(ModelError::Unsupported {
                path: modules_path,
                what: format!("module {}", m.kind),
            });
        }
        let normalize = has(".Normalize").is_some();
        let pooling_file = Path::new(&pooling.path).join("config.json");
        let pooling_path = require(dir, &pooling_file.to_string_lossy())?;
        let p: Pooling = read_json(&pooling_path)?;
        if !p.pooling_mode_mean_tokens
            || p.pooling_mode_cls_token
            || p.pooling_mode_max_tokens
            || p.pooling_mode_mean_sqrt_len_tokens
            || p.pooling_mode_weightedmean_tokens
            || p.pooling_mode_lasttoken
        {
            return Err(ModelError::Unsupported {
                path: pooling_path,
                what: "pooling: only mean pooling over tokens is implemented".into(),
            });
        }

        let st_path = dir.join("sentence_bert_config.json");
        let max_seq_length = if st_path.is_file() {
            read_json::<SentenceBertConfig>(&st_path)?.max_seq_length
        } else {
            None
        }
        .unwrap_or(bert.max_position_embeddings)
        .min(bert.max_position_embeddings);
        if max_seq_length < 2 {
            return Err(ModelError::Unsupported {
                path: st_path,
                what: format!("max_seq_length {max_seq_length}"),
            });
        }
        Ok(Self {
            bert,
            max_seq_length,
            normalize,
            weights,
            tokenizer,
        })
    }
}
