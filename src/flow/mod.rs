//! Conversations as data: flow files (`flows/*.yaml`), their texts
//! (`flows/locales/*.ftl`) and the pure engine that runs them. No IO here but
//! [`Library::load`] reading the files at start; the worker applies the engine's
//! effects (see `worker::driver`).

pub mod check;
pub mod def;
pub mod engine;
pub mod input;
pub mod text;

use crate::templates::Templates;
use def::{Flow, FlowError};
use std::collections::HashMap;
use std::path::Path;
use text::Texts;

/// Every flow, current and past versions, with the texts.
#[derive(Debug)]
pub struct Library {
    current: HashMap<String, Flow>,
    /// Earlier versions (by flow id and hash) that running sessions may still use.
    older: HashMap<(String, String), Flow>,
    pub texts: Texts,
    /// The approved WhatsApp templates (`<dir>/templates.yaml`): the one registry that
    /// `flows check` checks and the sender sends from.
    pub templates: Templates,
    /// (file name, source) of each current flow, for recording versions.
    pub sources: Vec<(String, String, String)>,
}

impl Library {
    /// Loads `<dir>/*.yaml` (except `templates.yaml`) and `<dir>/locales/*.ftl`.
    pub fn load(dir: &Path) -> Result<Self, FlowError> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| FlowError::Io(format!("{}: {e}", dir.display())))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "yaml")
                    && p.file_name().is_some_and(|n| n != "templates.yaml")
            })
            .collect();
        files.sort();
        let mut sources = Vec::new();
        for path in files {
            let source = std::fs::read_to_string(&path)
                .map_err(|e| FlowError::Io(format!("{}: {e}", path.display())))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.push((name, source));
        }
        let texts = Texts::load(&dir.join("locales")).map_err(|e| FlowError::Io(e.to_string()))?;
        let templates = match std::fs::read_to_string(dir.join("templates.yaml")) {
            Ok(y) => Templates::parse(&y).map_err(|e| FlowError::Io(e.to_string()))?,
            Err(_) => Templates::embedded().map_err(|e| FlowError::Io(e.to_string()))?,
        };
        Self::from_sources(sources, texts, templates)
    }

    pub fn from_sources(
        sources: Vec<(String, String)>,
        texts: Texts,
        templates: Templates,
    ) -> Result<Self, FlowError> {
        let mut current = HashMap::new();
        let mut recorded = Vec::new();
        for (file, source) in sources {
            let flow = def::parse_flow(&file, &source)?;
            let expected = file.trim_end_matches(".yaml");
            if flow.id != expected {
                return Err(FlowError::Invalid {
                    file,
                    problem: format!("the flow id {:?} must match the file name", flow.id),
                });
            }
            recorded.push((flow.id.clone(), flow.hash.clone(), source));
            current.insert(flow.id.clone(), flow);
        }
        Ok(Self {
            current,
            older: HashMap::new(),
            texts,
            templates,
            sources: recorded,
        })
    }

    /// Adds an earlier version (from the database) so sessions started on it can finish.
    pub fn add_version(&mut self, id: &str, hash: &str, source: &str) -> Result<(), FlowError> {
        if self.current.get(id).is_some_and(|f| f.hash == hash) {
            return Ok(());
        }
        let flow = def::parse_flow(&format!("{id}.yaml@{hash}"), source)?;
        self.older.insert((id.to_string(), hash.to_string()), flow);
        Ok(())
    }

    pub fn current(&self, id: &str) -> Option<&Flow> {
        self.current.get(id)
    }

    /// The version a session runs on, if loaded (the engine falls back to the current
    /// version when it still has the session's step).
    pub fn version(&self, id: &str, hash: &str) -> Option<&Flow> {
        match self.current.get(id) {
            Some(f) if f.hash == hash => Some(f),
            _ => self.older.get(&(id.to_string(), hash.to_string())),
        }
    }

    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        let mut v: Vec<&Flow> = self.current.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v.into_iter()
    }
}
