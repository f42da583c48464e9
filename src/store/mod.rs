//! The token store: what the bridge keeps between runs for each server
//! (access and refresh tokens with their absolute expiry, OAuth client
//! registrations, a cached `initialize` result).
//!
//! One JSON file per server under the per-OS data directory (or
//! `$MCP_BRIDGE_DATA_DIR`). The directory is 0700 and each file 0600.
//! Writes go to a temp file that is renamed over the old one, so a crash
//! never leaves half a token. `Store::lock` takes an advisory lock per
//! server, held around refreshes so concurrent bridge processes make one
//! token request between them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable that moves the data directory (tests use it).
pub const DATA_DIR_ENV: &str = "MCP_BRIDGE_DATA_DIR";

/// What is stored for one server. Providers keep their own extra fields in
/// `extra` (e.g. an OAuth client registration).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Absolute expiry of `access_token`, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Record {
    /// An access token that stays valid for at least `margin` more seconds.
    pub fn fresh_token(&self, margin: u64) -> Option<&str> {
        let token = self.access_token.as_deref()?;
        match self.expires_at {
            Some(e) if e <= now() + margin => None,
            _ => Some(token),
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `secs` since the Unix epoch as UTC (year, month, day, hour, minute,
/// second), by Howard Hinnant's civil-from-days.
pub fn utc_parts(secs: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (y, mo, d, (secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60)
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A held advisory lock; released on drop.
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// The store at `$MCP_BRIDGE_DATA_DIR`, else `<data dir>/mcp-bridge/tokens`.
    pub fn open_default() -> io::Result<Store> {
        let dir = match std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => directories::ProjectDirs::from("", "", "mcp-bridge")
                .map(|d| d.data_dir().join("tokens"))
                .ok_or_else(|| io::Error::other("no home directory; set MCP_BRIDGE_DATA_DIR"))?,
        };
        Ok(Store { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_dir(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        restrict(&self.dir, 0o700)
    }

    fn file(&self, server: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", file_stem(server)))
    }

    pub fn path_of(&self, server: &str) -> PathBuf {
        self.file(server, "json")
    }

    /// The stored record, if any. A corrupt file reads as none (and is
    /// logged), so a bad file never stops the bridge.
    pub fn load(&self, server: &str) -> io::Result<Option<Record>> {
        let path = self.path_of(server);
        self.adopt_legacy_file(server, &path);
        match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(r) => Ok(Some(r)),
                Err(e) => {
                    tracing::warn!("ignoring unreadable token file {} ({e})", path.display());
                    Ok(None)
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Before file names were reversible (`file_stem`), a server's file was
    /// its name with each character but ASCII letters, digits, `-` and `_`
    /// replaced by `_`: names of lower-case letters, digits, `-` and `_`
    /// keep their file, and a name of letters, digits and `-` with an
    /// upper-case letter takes its old file once, when it has no new one
    /// (no other name could have written that old file). Linked first
    /// (which never replaces a file), then the old name removed.
    fn adopt_legacy_file(&self, server: &str, path: &Path) {
        let plain = server.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !plain || !server.bytes().any(|b| b.is_ascii_uppercase()) {
            return;
        }
        let legacy = self.dir.join(format!("{server}.json"));
        if fs::symlink_metadata(&legacy).is_ok_and(|m| m.is_file()) && fs::hard_link(&legacy, path).is_ok() {
            let _ = fs::remove_file(&legacy);
            tracing::info!("server `{server}`: token file renamed to {}", path.display());
        }
    }

    /// Replace the record atomically: write a new 0600 temp file (a fresh
    /// name, created exclusively, never through a link), then rename it
    /// over the old one.
    pub fn save(&self, server: &str, record: &Record) -> io::Result<()> {
        self.ensure_dir()?;
        let path = self.path_of(server);
        let text = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let (tmp, mut f) = create_temp(&self.dir, &file_stem(server), 0o600)?;
        let written = f.write_all(&text).and_then(|()| f.sync_all());
        drop(f);
        let done = written.and_then(|()| fs::rename(&tmp, &path));
        if done.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        done
    }

    /// Load, change and save under the lock.
    pub async fn update(&self, server: &str, change: impl FnOnce(&mut Record)) -> io::Result<Record> {
        let _lock = self.lock(server).await?;
        let mut r = self.load(server)?.unwrap_or_default();
        change(&mut r);
        self.save(server, &r)?;
        Ok(r)
    }

    pub fn remove(&self, server: &str) -> io::Result<()> {
        match fs::remove_file(self.path_of(server)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Take the advisory lock for `server`, waiting for other processes.
    pub async fn lock(&self, server: &str) -> io::Result<StoreLock> {
        self.ensure_dir()?;
        let path = self.file(server, "lock");
        tokio::task::spawn_blocking(move || {
            let mut opts = OpenOptions::new();
            opts.create(true).truncate(false).write(true);
            no_follow(&mut opts, 0o600);
            let file = opts.open(&path)?;
            restrict_open(&file, 0o600)?;
            file.lock()?;
            Ok(StoreLock { _file: file })
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// The file name (without extension) for `server`: reversible, so two
/// servers never share a file. ASCII lower-case letters, digits, `-` and
/// `_` stand for themselves; every other byte of the name is `%XX` (upper
/// case hex), upper-case letters too, so names that differ only in case
/// stay apart on case-insensitive file systems (macOS, Windows).
pub fn file_stem(server: &str) -> String {
    let mut stem = String::with_capacity(server.len());
    for b in server.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => stem.push(char::from(b)),
            _ => stem.push_str(&format!("%{b:02X}")),
        }
    }
    stem
}

/// A new temp file in `dir`, `.<stem>.<random>.tmp`, made by `create_new`
/// with `mode` (a fresh name on the rare collision): for a file that is
/// then renamed over the one it replaces.
pub fn create_temp(dir: &Path, stem: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut tries = 0;
    loop {
        let path = dir.join(format!(".{stem}.{}.tmp", uuid::Uuid::new_v4().simple()));
        match create_new(&path, mode) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Create `path` as a new file with `mode`: exclusively (`O_EXCL`, so
/// never an existing file, and never through a link planted there), its
/// mode set on the open file whatever the umask.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    no_follow(&mut opts, mode);
    let f = opts.open(path)?;
    restrict_open(&f, mode)?;
    Ok(f)
}

/// Open with `mode` and never through a symbolic link at the last step
/// (`O_NOFOLLOW`).
#[cfg(unix)]
fn no_follow(opts: &mut OpenOptions, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    opts.mode(mode).custom_flags(libc::O_NOFOLLOW);
}

#[cfg(not(unix))]
fn no_follow(_opts: &mut OpenOptions, _mode: u32) {}

/// Set an open file's mode (`fchmod`: the file itself, whatever its path
/// now names).
#[cfg(unix)]
fn restrict_open(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict_open(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
