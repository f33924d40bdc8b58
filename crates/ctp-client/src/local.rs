//! The client's local files, at paths the caller chooses: the config (server URL and token,
//! TOML) and the verification state of each server (pinned keys, checkpoints seen; JSON).
//! Files are written whole (a temporary file renamed over), mode 0600, in folders created
//! mode 0700: they hold a token, and what a verifier trusts.
//!
//! State layout under the state folder (`$XDG_STATE_HOME/ctp` or `~/.local/state/ctp` for
//! the `ctp` binary):
//!
//! ```text
//! servers/<first 16 hex digits of SHA-256 of the base URL>.json   one ServerState
//! ```

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::verify::ServerState;

/// Why a local file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Reading or writing failed.
    #[error("{path}: {source} — check the path and its permissions")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file's content is not what it should be.
    #[error("{path}: {detail} — fix or delete the file")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io { path: path.to_owned(), source }
}

/// The config file: which server, which token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Config {
    /// Reads the config at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, LocalError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| LocalError::Invalid { path: path.to_owned(), detail: e.to_string() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// Writes the config at `path` (mode 0600; missing folders created mode 0700).
    pub fn save(&self, path: &Path) -> Result<(), LocalError> {
        let text =
            toml::to_string(self).map_err(|e| LocalError::Invalid { path: path.to_owned(), detail: e.to_string() })?;
        write_private(path, text.as_bytes())
    }
}

/// Creates `dir` and its missing parents; the folders it creates are mode 0700, and `dir`
/// itself is made 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), LocalError> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

/// Writes `bytes` to `path` whole, mode 0600 (a temporary file in the same folder, renamed
/// over); the folder is created mode 0700 when missing.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), LocalError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        create_private_dir(dir)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(io(path))
}

/// Writes `bytes` to a new file `path`, mode 0600; an existing file is an error (keys are
/// never overwritten).
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<(), LocalError> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(path))
}

/// The verification state of every server, in a folder.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// The state under `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> StateStore {
        StateStore { dir: dir.into() }
    }

    /// The file of the server at `base`.
    pub fn path(&self, base: &str) -> PathBuf {
        let digest = ctp_ledger::sha256(base.as_bytes()).to_hex();
        self.dir.join("servers").join(format!("{}.json", &digest[..16]))
    }

    /// The state of the server at `base`; empty when none was saved.
    pub fn load(&self, base: &str) -> Result<ServerState, LocalError> {
        let path = self.path(base);
        let state: ServerState = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| LocalError::Invalid { path: path.clone(), detail: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ServerState::new(base)),
            Err(e) => return Err(io(&path)(e)),
        };
        if state.server != base {
            return Err(LocalError::Invalid {
                path,
                detail: format!("it is the state of {}, not of {base}", state.server),
            });
        }
        Ok(state)
    }

    /// Saves the state of its server.
    pub fn save(&self, state: &ServerState) -> Result<(), LocalError> {
        create_private_dir(&self.dir)?;
        create_private_dir(&self.dir.join("servers"))?;
        let text = serde_json::to_string_pretty(state).expect("the state serializes");
        write_private(&self.path(&state.server), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_config_is_written_0600_in_a_0700_folder_and_read_back() {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("config/ctp/config.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
        let config = Config { url: Some("http://h/api/1.0/".into()), token: Some("secret".into()) };
        config.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&home.path().join("config")), 0o700);
        assert_eq!(Config::load(&path).unwrap(), config);
        // A file that was readable by others is 0600 once saved again.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        config.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        fs::write(&path, "url = 3\n").unwrap();
        assert!(matches!(Config::load(&path), Err(LocalError::Invalid { .. })));
        fs::write(&path, "tokn = \"x\"\n").unwrap();
        assert!(Config::load(&path).unwrap_err().to_string().contains("tokn"));
    }

    #[test]
    fn keys_are_created_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        create_private(&path, b"one").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(create_private(&path, b"two").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }

    #[test]
    fn each_server_has_its_state_file_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state/ctp"));
        let a = "http://a/api/1.0/";
        let mut state = store.load(a).unwrap();
        assert_eq!(state, ServerState::new(a));
        state.server_key = Some("k+01020304+AQ==".into());
        store.save(&state).unwrap();
        assert_eq!(mode(&store.path(a)), 0o600);
        assert_eq!(mode(&dir.path().join("state/ctp")), 0o700);
        assert_eq!(mode(&dir.path().join("state/ctp/servers")), 0o700);
        assert_eq!(store.load(a).unwrap(), state);
        assert_eq!(store.load("http://b/api/1.0/").unwrap(), ServerState::new("http://b/api/1.0/"));
        assert_ne!(store.path(a), store.path("http://b/api/1.0/"));
    }
}
