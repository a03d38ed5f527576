//! One chat completion against an OpenAI-compatible endpoint (`async-openai`, any base
//! URL): the prompt in, the answer's text and the tokens it cost out. Errors are sorted
//! into what a later attempt may fix (timeouts, 429, 5xx, a broken connection) and what
//! it will not (401, 400, …).

use crate::config::AiConfig;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs, ResponseFormat,
};

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// Worth another attempt later.
    #[error("AI endpoint: {0} (will retry)")]
    Transient(String),
    /// Another attempt will not help (credentials, a refused request).
    #[error("AI endpoint: {0}")]
    Refused(String),
}

/// The endpoint and model of the process (`RAABTA_AI_*`).
pub struct AiClient {
    client: async_openai::Client<OpenAIConfig>,
    model: String,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for AiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiClient")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// An answer: its text and the tokens the call cost.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub tokens: i64,
}

impl AiClient {
    pub fn new(config: &AiConfig) -> Self {
        let cfg = OpenAIConfig::new()
            .with_api_base(config.base_url.clone())
            .with_api_key(config.api_key.expose().clone());
        Self {
            client: async_openai::Client::with_config(cfg),
            model: config.model.clone(),
            timeout: config.timeout,
        }
    }

    /// One completion asking for a JSON object.
    pub async fn complete(&self, prompt: &str) -> Result<Answer, AiError> {
        let message = ChatCompletionRequestUserMessageArgs::default()
            .content(prompt)
            .build()
            .map_err(|e| AiError::Refused(e.to_string()))?;
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.model.clone())
            .messages([message.into()])
            .response_format(ResponseFormat::JsonObject)
            .build()
            .map_err(|e| AiError::Refused(e.to_string()))?;
        let chat = self.client.chat();
        let call = chat.create(request);
        let response = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => return Err(AiError::Transient("timed out".into())),
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(r)) => r,
        };
        let text = response
            .choices
            .first()
            .and_then(|c| c.message.content.clone())
            .unwrap_or_default();
        let tokens = response
            .usage
            .as_ref()
            .map(|u| i64::from(u.total_tokens))
            // Without a count, the prompt's and answer's length stand in (about four
            // characters a token), so the budget still counts.
            .unwrap_or(((prompt.len() + text.len()) / 4) as i64);
        Ok(Answer { text, tokens })
    }
}

fn classify(e: async_openai::error::OpenAIError) -> AiError {
    use async_openai::error::OpenAIError as E;
    match e {
        E::ApiError(api) => {
            let status = api.status_code.as_u16();
            if status == 429 || status >= 500 || status == 408 {
                AiError::Transient(format!("status {status}"))
            } else {
                AiError::Refused(format!("status {status}"))
            }
        }
        // The request never got an answer (connection, reading): the URL is never shown.
        E::Reqwest(e) => AiError::Transient(e.without_url().to_string()),
        E::JSONDeserialize(..) => AiError::Transient("an answer that is not the API's JSON".into()),
        other => AiError::Refused(other.to_string()),
    }
}
