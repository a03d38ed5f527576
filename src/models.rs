//! The models directory written by `scripts/fetch-models.sh`: ONNX Runtime's shared
//! library, the models and `manifest.json` (source package and version, licence,
//! sha256 of every file). The server never downloads anything: it verifies the manifest
//! and loads what is there, and runs without it (saying so once at start).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("no models in {0} (run scripts/fetch-models.sh)")]
    Missing(PathBuf),
    #[error("{0}: unreadable manifest: {1}")]
    Manifest(PathBuf, String),
    #[error("{0}: {1}")]
    Io(PathBuf, String),
    #[error("{0}: sha256 does not match the manifest (re-run scripts/fetch-models.sh)")]
    Mismatch(PathBuf),
    #[error("the manifest lists no {0}")]
    NoRole(&'static str),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub registry: String,
    pub package: String,
    pub version: String,
    pub licence: String,
    pub sha256: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub role: String,
    pub sha256: String,
    pub bytes: u64,
    pub source: Source,
    #[serde(default)]
    pub conversion: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub recipe: String,
    pub files: Vec<ManifestFile>,
}

/// A models directory whose files matched their manifest when it was opened.
#[derive(Debug, Clone)]
pub struct Verified {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

fn sha256_file(path: &Path) -> Result<String, ModelsError> {
    let io = |e: std::io::Error| ModelsError::Io(path.to_path_buf(), e.to_string());
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

impl Verified {
    /// Reads the manifest and checks the size and sha256 of every file it lists.
    pub fn open(dir: &Path) -> Result<Self, ModelsError> {
        let path = dir.join("manifest.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelsError::Missing(dir.to_path_buf()))
            }
            Err(e) => return Err(ModelsError::Io(path, e.to_string())),
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| ModelsError::Manifest(path.clone(), e.to_string()))?;
        if manifest.format != 1 {
            return Err(ModelsError::Manifest(
                path,
                format!("format {}", manifest.format),
            ));
        }
        for f in &manifest.files {
            if f.name.contains('/') || f.name.starts_with('.') {
                return Err(ModelsError::Manifest(
                    path,
                    format!("bad file name {:?}", f.name),
                ));
            }
            let file = dir.join(&f.name);
            let meta = std::fs::metadata(&file)
                .map_err(|e| ModelsError::Io(file.clone(), e.to_string()))?;
            if meta.len() != f.bytes || sha256_file(&file)? != f.sha256 {
                return Err(ModelsError::Mismatch(file));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    pub fn file(&self, role: &'static str) -> Result<(PathBuf, &ManifestFile), ModelsError> {
        self.manifest
            .files
            .iter()
            .find(|f| f.role == role)
            .map(|f| (self.dir.join(&f.name), f))
            .ok_or(ModelsError::NoRole(role))
    }
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// The process's ONNX Runtime, loaded once from the verified directory's shared library
/// (every model of the process shares it).
pub fn runtime(models: &Verified) -> Result<&'static ort::environment::Environment, ModelsError> {
    let (lib, _) = models.file("onnxruntime")?;
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(&lib)
                .map_err(|e| e.to_string())?
                .with_name("raabta")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ModelsError::Runtime(e.clone()))
}

/// The models directory: `RAABTA_MODELS_DIR` through the config, else `./models`.
pub fn default_dir() -> PathBuf {
    PathBuf::from("models")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_tampered_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Verified::open(dir.path()),
            Err(ModelsError::Missing(_))
        ));
        std::fs::write(dir.path().join("m.bin"), b"weights").unwrap();
        let sha = hex::encode(Sha256::digest(b"weights"));
        let manifest = serde_json::json!({
            "format": 1, "recipe": "r",
            "files": [{"name": "m.bin", "role": "text-encoder", "sha256": sha, "bytes": 7,
                       "source": {"registry": "pypi", "package": "p", "version": "1",
                                  "licence": "MIT", "sha256": "x"}}]
        });
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        let v = Verified::open(dir.path()).unwrap();
        assert_eq!(v.file("text-encoder").unwrap().1.source.licence, "MIT");
        assert!(matches!(v.file("onnxruntime"), Err(ModelsError::NoRole(_))));
        std::fs::write(dir.path().join("m.bin"), b"weightz").unwrap();
        assert!(matches!(
            Verified::open(dir.path()),
            Err(ModelsError::Mismatch(_))
        ));
    }
}
