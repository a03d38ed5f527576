//! The registry of approved WhatsApp templates (`flows/templates.yaml`, embedded at
//! build time) and how a template is sent on each provider.

use crate::domain::message::Provider;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const EMBEDDED: &str = include_str!("../flows/templates.yaml");

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MetaTemplate {
    pub name: String,
    pub language: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TwilioTemplate {
    pub content_sid: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Template {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub variables: Vec<String>,
    pub meta: Option<MetaTemplate>,
    pub twilio: Option<TwilioTemplate>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Templates {
    #[serde(default)]
    pub templates: BTreeMap<String, Template>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("templates.yaml: {0}")]
    Parse(String),
    #[error("template {0:?}: the Twilio content SID must start with HX")]
    BadContentSid(String),
    #[error("template {0:?} is approved for neither Meta nor Twilio")]
    NoProvider(String),
}

impl Templates {
    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let t: Templates =
            serde_norway::from_str(yaml).map_err(|e| TemplateError::Parse(e.to_string()))?;
        for (key, tpl) in &t.templates {
            if tpl.meta.is_none() && tpl.twilio.is_none() {
                return Err(TemplateError::NoProvider(key.clone()));
            }
            if let Some(tw) = &tpl.twilio {
                if !tw.content_sid.starts_with("HX") {
                    return Err(TemplateError::BadContentSid(key.clone()));
                }
            }
        }
        Ok(t)
    }

    pub fn embedded() -> Result<Self, TemplateError> {
        Self::parse(EMBEDDED)
    }

    /// The template to use for this provider, if the message names one approved there.
    pub fn for_provider(&self, key: &str, provider: Provider) -> Option<&Template> {
        let t = self.templates.get(key)?;
        match provider {
            Provider::Meta => t.meta.as_ref().map(|_| t),
            Provider::Twilio => t.twilio.as_ref().map(|_| t),
            Provider::Telegram | Provider::Console | Provider::Web => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_parses() {
        let t = Templates::embedded().unwrap();
        let s = t.for_provider("school_update", Provider::Meta).unwrap();
        assert_eq!(s.variables, vec!["school_name"]);
        assert!(t.for_provider("school_update", Provider::Twilio).is_some());
        assert!(t
            .for_provider("school_update", Provider::Telegram)
            .is_none());
        assert!(t.for_provider("nope", Provider::Meta).is_none());
    }

    #[test]
    fn bad_registries_are_refused() {
        assert!(Templates::parse("templates: [").is_err());
        assert!(matches!(
            Templates::parse("templates:\n  x:\n    variables: []\n"),
            Err(TemplateError::NoProvider(_))
        ));
        assert!(matches!(
            Templates::parse("templates:\n  x:\n    twilio:\n      content_sid: AB1\n"),
            Err(TemplateError::BadContentSid(_))
        ));
    }
}
