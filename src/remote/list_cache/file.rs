//! The list cache on disk: one JSON file per server in `lists/` beside the
//! token files of the data dir, written with the token store's care (0600
//! in a 0700 directory, a temp file renamed over the old one, under the
//! server's advisory lock there), so two bridges for one server never
//! leave half a file.
//!
//! A file holds one `key` (what the cache is for: the server's URL, its
//! headers and filter, and whom its requests are made as, as a digest) and
//! an entry per method: the remote's result as it sent it, when it was
//! fetched, and for `initialize` a digest of the client's params.

use super::now_ms;
use crate::remote::endpoint::Endpoint;
use crate::store::{Record, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// What a cache file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    pub key: String,
    #[serde(default)]
    pub entries: BTreeMap<String, Entry>,
}

/// One method's last result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// The remote's `result`, as it sent it.
    pub result: Value,
    /// Milliseconds since the Unix epoch.
    pub fetched_at_ms: u64,
    /// A digest of the request's params (`initialize`: the client's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
    /// The remote's `ttlMs` and `cacheScope` (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The cache file of one server.
#[derive(Debug, Clone)]
pub struct CacheFile {
    store: Store,
    server: String,
}

impl CacheFile {
    /// The file of `server` in the data dir of the token store `tokens`.
    pub fn new(tokens: &Store, server: &str) -> CacheFile {
        CacheFile {
            store: lists_of(tokens),
            server: server.to_string(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.store.path_of(&self.server)
    }

    /// What the file holds: `Ok(None)` when there is none yet, `Err` with
    /// the reason when it cannot be read or is not a cache file.
    pub fn load(&self) -> Result<Option<Saved>, String> {
        match std::fs::read(self.path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("not a list cache ({e})")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read it ({e})")),
        }
    }

    /// Change what the file holds, under its lock: `change` gets what is
    /// there (nothing, when it is missing, unreadable or for another key).
    pub async fn update(&self, change: impl FnOnce(&mut Saved)) -> io::Result<()> {
        let _lock = self.store.lock(&self.server).await?;
        let mut saved = self.load().ok().flatten().unwrap_or_default();
        change(&mut saved);
        let Value::Object(extra) = serde_json::to_value(&saved).map_err(io::Error::other)? else {
            return Err(io::Error::other("a list cache is an object"));
        };
        let record = Record {
            extra,
            ..Record::default()
        };
        self.store.save(&self.server, &record)
    }
}

/// The list caches' store: `lists/` in the token store's directory.
fn lists_of(tokens: &Store) -> Store {
    Store::at(tokens.dir().join("lists"))
}

/// Remove the cache of `server`, or of every server: the files removed.
pub fn clear(tokens: &Store, server: Option<&str>) -> io::Result<Vec<PathBuf>> {
    let lists = lists_of(tokens);
    let mut removed = Vec::new();
    let paths: Vec<PathBuf> = match server {
        Some(name) => vec![lists.path_of(name)],
        None => match std::fs::read_dir(lists.dir()) {
            Ok(dir) => dir
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        },
    };
    for path in paths {
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// How old the cache of `server` is, in words, for `doctor`.
pub fn describe(ep: &Endpoint) -> String {
    let Some(store) = &ep.store else {
        return "off (no data dir)".into();
    };
    if ep.list_cache.max_age().is_none() {
        return "off (list_cache = \"0\")".into();
    }
    let file = CacheFile::new(store, &ep.server);
    match file.load() {
        Ok(None) => "none yet (written at the first start)".into(),
        Err(why) => format!(
            "{}: {why} (ignored; rewritten at the next start)",
            file.path().display()
        ),
        Ok(Some(saved)) => {
            let now = now_ms();
            let ages: Vec<String> = saved
                .entries
                .iter()
                .map(|(m, e)| format!("{m} {}", age_text(now.saturating_sub(e.fetched_at_ms))))
                .collect();
            if ages.is_empty() {
                "empty".into()
            } else {
                format!("{} old ({})", ages.join(", "), file.path().display())
            }
        }
    }
}

fn age_text(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}
