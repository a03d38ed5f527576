//! Conversations as data: flow files (`flows/*.yaml`), their texts
//! (`flows/locales/*.ftl`) and the pure engine that runs them. The flows are built
//! into the binary ([`EMBEDDED`], [`Library::embedded`]); a configured flows directory
//! replaces them ([`Library::load`], the only IO here, at start). Both go through
//! [`Library::from_files`]. The worker applies the engine's effects (see
//! `worker::driver`).

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
    /// The language model's example phrases (`<dir>/intents.yaml`; none without it).
    pub intents: crate::nlu::Examples,
}

/// The flows built into the binary at compile time (see `build.rs`): every
/// `flows/*.yaml` (with `templates.yaml`) and `flows/locales/*.ftl`, as (path relative
/// to `flows/`, source).
pub const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_flows.rs"));

/// An IO error as one short phrase ("No such file or directory", without "(os error 2)").
fn io_problem(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// The files of `dir` with the extension `ext`, as (prefix + file name, source), sorted.
fn read_files(dir: &Path, prefix: &str, ext: &str) -> Result<Vec<(String, String)>, FlowError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FlowError::Io(io_problem(&e)))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| format!("{prefix}{}", n.to_string_lossy()))
            .unwrap_or_default();
        let source = std::fs::read_to_string(&path).map_err(|e| FlowError::Invalid {
            file: name.clone(),
            problem: io_problem(&e),
        })?;
        files.push((name, source));
    }
    Ok(files)
}

impl Library {
    /// The flows built into the binary ([`EMBEDDED`]).
    pub fn embedded() -> Result<Self, FlowError> {
        Self::from_files(
            EMBEDDED
                .iter()
                .map(|(name, source)| (name.to_string(), source.to_string()))
                .collect(),
        )
    }

    /// Loads a flows directory: `<dir>/*.yaml` (with `templates.yaml`) and
    /// `<dir>/locales/*.ftl`. Errors name the file relative to `dir`; the caller names
    /// the directory.
    pub fn load(dir: &Path) -> Result<Self, FlowError> {
        let mut files = read_files(dir, "", "yaml")?;
        let locales = dir.join("locales");
        if locales.is_dir() {
            files.extend(read_files(&locales, "locales/", "ftl")?);
        }
        Self::from_files(files)
    }

    /// The one way in for both sets: (path relative to the flows directory, source) of
    /// each flow (`<id>.yaml`), `templates.yaml` and `locales/<locale>.ftl`. Other files
    /// are ignored.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, FlowError> {
        let mut flows = Vec::new();
        let mut templates = None;
        let mut intents = None;
        let mut locales = Vec::new();
        for (name, source) in files {
            if name == "templates.yaml" {
                templates = Some(source);
            } else if name == "intents.yaml" {
                intents = Some(source);
            } else if name.starts_with("locales/") {
                locales.push((name, source));
            } else if !name.contains('/') && name.ends_with(".yaml") {
                flows.push((name, source));
            }
        }
        flows.sort();
        let texts = Texts::from_files(locales).map_err(|e| FlowError::Io(e.to_string()))?;
        let templates = templates.ok_or_else(|| FlowError::Invalid {
            file: "templates.yaml".into(),
            problem: "not found".into(),
        })?;
        let templates = Templates::parse(&templates).map_err(|e| FlowError::Io(e.to_string()))?;
        let intents = match intents {
            Some(source) => {
                crate::nlu::Examples::parse(&source).map_err(|e| FlowError::Invalid {
                    file: "intents.yaml".into(),
                    problem: e.to_string(),
                })?
            }
            None => crate::nlu::Examples::default(),
        };
        let mut lib = Self::from_sources(flows, texts, templates)?;
        lib.intents = intents;
        Ok(lib)
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
            intents: crate::nlu::Examples::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::school::Locale;

    fn directory() -> Library {
        Library::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows"))
            .expect("flows/ loads")
    }

    /// The flows built into the binary are exactly `flows/` (so the two cannot drift: if
    /// a flow file was added without the build noticing, touch `build.rs`).
    #[test]
    fn embedded_set_is_the_flows_directory() {
        let embedded = Library::embedded().expect("the embedded flows load");
        let dir = directory();
        let ids = |lib: &Library| -> Vec<(String, String)> {
            lib.flows()
                .map(|f| (f.id.clone(), f.hash.clone()))
                .collect()
        };
        assert_eq!(ids(&embedded), ids(&dir));
        assert!(ids(&embedded).len() > 10);
        assert_eq!(embedded.sources, dir.sources);
        for locale in text::LOCALES {
            assert_eq!(embedded.texts.ids(locale), dir.texts.ids(locale));
        }
        assert_eq!(embedded.templates, dir.templates);
        assert!(EMBEDDED.iter().all(|(name, _)| !name.starts_with("tests/")));
        assert_eq!(
            Texts::embedded().expect("texts").ids(Locale::Ur),
            dir.texts.ids(Locale::Ur)
        );
    }

    #[test]
    fn a_missing_or_incomplete_directory_is_named_in_one_line() {
        let e = Library::load(std::path::Path::new("/nonexistent/flows")).unwrap_err();
        assert_eq!(e.to_string(), "No such file or directory");
        let empty = tempfile::tempdir().unwrap();
        let e = Library::load(empty.path()).unwrap_err().to_string();
        assert_eq!(e, "locales/en.ftl: not found");
        let mut files: Vec<(String, String)> = EMBEDDED
            .iter()
            .filter(|(name, _)| *name != "templates.yaml")
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        let e = Library::from_files(files.clone()).unwrap_err().to_string();
        assert_eq!(e, "templates.yaml: not found");
        files.push(("leave.yaml".into(), "steps: [".into()));
        files.retain(|(n, s)| n != "leave.yaml" || s == "steps: [");
        files.push(("templates.yaml".into(), "templates: {}\n".into()));
        let e = Library::from_files(files).unwrap_err().to_string();
        assert!(e.starts_with("leave.yaml: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
