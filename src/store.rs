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
        let safe: String = server
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.{ext}"))
    }

    pub fn path_of(&self, server: &str) -> PathBuf {
        self.file(server, "json")
    }

    /// The stored record, if any. A corrupt file reads as none (and is
    /// logged), so a bad file never stops the bridge.
    pub fn load(&self, server: &str) -> io::Result<Option<Record>> {
        let path = self.path_of(server);
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

    /// Replace the record atomically: write a 0600 temp file, then rename.
    pub fn save(&self, server: &str, record: &Record) -> io::Result<()> {
        self.ensure_dir()?;
        let path = self.path_of(server);
        let tmp = self.file(server, &format!("json.tmp{}", std::process::id()));
        {
            let mut f = create_private(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(record).map_err(io::Error::other)?)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)
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
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            restrict(&path, 0o600)?;
            file.lock()?;
            Ok(StoreLock { _file: file })
        })
        .await
        .map_err(io::Error::other)?
    }
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path)?;
    restrict(path, 0o600)?;
    Ok(f)
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn save_load_modes_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("tokens"));
        assert_eq!(store.load("a/b").unwrap(), None);
        let rec = Record {
            access_token: Some("at".into()),
            expires_at: Some(now() + 100),
            ..Default::default()
        };
        store.save("a/b", &rec).unwrap();
        assert_eq!(store.load("a/b").unwrap(), Some(rec.clone()));
        assert_eq!(rec.fresh_token(10), Some("at"));
        assert_eq!(rec.fresh_token(200), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.dir()), 0o700);
            assert_eq!(mode(&store.path_of("a/b")), 0o600);
        }
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().contains("tmp")), "{names:?}");
        let updated = store
            .update("a/b", |r| r.refresh_token = Some("rt".into()))
            .await
            .unwrap();
        assert_eq!(updated.access_token.as_deref(), Some("at"));
        assert_eq!(store.load("a/b").unwrap().unwrap().refresh_token.as_deref(), Some("rt"));
    }

    /// The kernel's list of file locks on the lock file of `server`:
    /// `(blocked, held)` counts (a waiter's line in /proc/locks has `->`).
    #[cfg(target_os = "linux")]
    fn kernel_locks(store: &Store, server: &str) -> (usize, usize) {
        use std::os::unix::fs::MetadataExt;
        let inode = fs::metadata(store.file(server, "lock")).unwrap().ino();
        let locks = fs::read_to_string("/proc/locks").unwrap();
        let on_file: Vec<&str> = locks
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .any(|f| f.rsplit(':').next() == Some(&inode.to_string()))
            })
            .collect();
        let blocked = on_file.iter().filter(|l| l.contains("->")).count();
        (blocked, on_file.len() - blocked)
    }

    #[tokio::test]
    async fn lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let held = store.lock("s").await.unwrap();
        let s2 = store.clone();
        let waiter = tokio::spawn(async move { s2.lock("s").await.map(|_| ()) });
        // The second holder is asking: the kernel shows it blocked on the
        // file the first one holds (and shows that one held, the control).
        #[cfg(target_os = "linux")]
        {
            let since = std::time::Instant::now();
            while kernel_locks(&store, "s").0 == 0 {
                assert!(since.elapsed() < std::time::Duration::from_secs(30), "no waiter");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert_eq!(kernel_locks(&store, "s"), (1, 1));
        }
        #[cfg(not(target_os = "linux"))]
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        assert!(!waiter.is_finished(), "second lock must wait");
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(30), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[test]
    fn corrupt_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        fs::write(store.path_of("x"), b"{not json").unwrap();
        assert_eq!(store.load("x").unwrap(), None);
    }
}
