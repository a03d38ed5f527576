//! The sentence encoder: multilingual-e5-small as converted by
//! `scripts/fetch-models.sh` (int8 weights), run by ONNX Runtime on one intra-op
//! thread, with its XLM-R tokenizer (`tokenizers`). Inputs `input_ids` and
//! `attention_mask`; output `sentence_embedding` (mean-pooled, L2-normalised, 384-d).

use crate::models::{ModelsError, Verified};
use std::path::Path;
use std::sync::Mutex;
use tokenizers::{Tokenizer, TruncationParams};

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error(transparent)]
    Models(#[from] ModelsError),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("inference: {0}")]
    Inference(String),
}

/// e5 wants its inputs marked: questions and short messages as queries.
pub const QUERY: &str = "query: ";
/// ...and documents (FAQ answers) as passages.
pub const PASSAGE: &str = "passage: ";

/// The pad token of the XLM-R vocabulary.
const PAD: i64 = 1;
/// The model's window.
const MAX_TOKENS: usize = 512;
/// Texts embedded together at most (padding grows with the longest).
const BATCH: usize = 16;

pub struct Encoder {
    session: Mutex<ort::session::Session>,
    tokenizer: Tokenizer,
    /// The encoder file's sha256 (from the verified manifest): the cache key.
    pub model_sha256: String,
    pub dim: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("model_sha256", &self.model_sha256)
            .finish()
    }
}

fn inference(e: impl std::fmt::Display) -> EncoderError {
    EncoderError::Inference(e.to_string())
}

impl Encoder {
    /// Loads the encoder and its tokenizer from a verified models directory.
    pub fn load(models: &Verified) -> Result<Self, EncoderError> {
        let env = crate::models::runtime(models)?;
        let (model_path, model) = models.file("text-encoder")?;
        let (tok_path, _) = models.file("text-tokenizer")?;
        let session = ort::session::Session::builder(env)
            .map_err(inference)?
            .with_intra_threads(1)
            .map_err(inference)?
            .with_inter_threads(1)
            .map_err(inference)?
            .commit_from_file(&model_path)
            .map_err(inference)?;
        let tokenizer = load_tokenizer(&tok_path)?;
        Ok(Self {
            session: Mutex::new(session),
            tokenizer,
            model_sha256: model.sha256.clone(),
            dim: 384,
        })
    }

    /// Token ids of one text with its prefix (`<s> … </s>`, at most 512).
    pub fn tokens(&self, prefix: &str, text: &str) -> Result<Vec<i64>, EncoderError> {
        let enc = self
            .tokenizer
            .encode(format!("{prefix}{text}"), true)
            .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// Embeds texts (blocking: call from a blocking thread), each prefixed with
    /// `prefix` ([`QUERY`] or [`PASSAGE`]).
    pub fn embed(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            let ids: Vec<Vec<i64>> = chunk
                .iter()
                .map(|t| self.tokens(prefix, t))
                .collect::<Result<_, _>>()?;
            let width = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut flat = Vec::with_capacity(chunk.len() * width);
            let mut mask = Vec::with_capacity(chunk.len() * width);
            for row in &ids {
                flat.extend_from_slice(row);
                flat.extend(std::iter::repeat_n(PAD, width - row.len()));
                mask.extend(std::iter::repeat_n(1i64, row.len()));
                mask.extend(std::iter::repeat_n(0i64, width - row.len()));
            }
            let shape = [chunk.len(), width];
            let ids = ort::value::Tensor::from_array((shape, flat)).map_err(inference)?;
            let mask = ort::value::Tensor::from_array((shape, mask)).map_err(inference)?;
            let mut session = self
                .session
                .lock()
                .map_err(|_| EncoderError::Inference("a previous run panicked".into()))?;
            let outputs = session
                .run(ort::inputs!["input_ids" => ids, "attention_mask" => mask])
                .map_err(inference)?;
            let (shape, data) = outputs["sentence_embedding"]
                .try_extract_tensor::<f32>()
                .map_err(inference)?;
            let dim = shape.get(1).copied().unwrap_or(0) as usize;
            if dim != self.dim || data.len() != chunk.len() * dim {
                return Err(EncoderError::Inference(format!(
                    "unexpected output shape {shape:?}"
                )));
            }
            out.extend(data.chunks(dim).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

fn load_tokenizer(path: &Path) -> Result<Tokenizer, EncoderError> {
    let mut tokenizer =
        Tokenizer::from_file(path).map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..TruncationParams::default()
        }))
        .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}
