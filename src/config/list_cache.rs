//! `list_cache`: how long a server's cached handshake and lists may answer
//! a new start while a fresh copy is fetched behind them (for a server that
//! speaks a 2025 revision; a 2026-07-28 server's own `ttlMs` decides for
//! its lists). `"0"` (or `0`) turns the cache off for the server.

use super::duration::Raw;
use serde::Deserialize;
use std::time::Duration;

/// The default: a week. A start answered from the cache fetches the lists
/// again at once and tells the client of any change, so the age bounds how
/// old a first answer can be, not how long a change goes unseen.
pub const DEFAULT_LIST_CACHE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest age `list_cache` may give: a year (from 1 ms up).
pub const LONGEST_LIST_CACHE: Duration = Duration::from_secs(365 * 24 * 3600);

/// `list_cache` of a server entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListCacheAge {
    Off,
    For(Duration),
}

impl Default for ListCacheAge {
    fn default() -> Self {
        ListCacheAge::For(DEFAULT_LIST_CACHE)
    }
}

impl ListCacheAge {
    /// The longest a cached answer may be, if the cache is on.
    pub fn max_age(self) -> Option<Duration> {
        match self {
            ListCacheAge::Off => None,
            ListCacheAge::For(d) => Some(d),
        }
    }
}

impl<'de> Deserialize<'de> for ListCacheAge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bad = || {
            serde::de::Error::custom(
                "list_cache is a duration such as \"12h\", \"7d\" or \"30m\" (a number is seconds), up to a year (\"365d\"), or \"0\" to turn the cache off",
            )
        };
        match Raw::deserialize(d)? {
            Raw::Secs(0.0) => Ok(ListCacheAge::Off),
            Raw::Secs(s) => within(s).ok_or_else(bad),
            Raw::Text(t) => parse(&t).ok_or_else(bad),
        }
    }
}

/// `"0"`, or a number with a unit: `s`, `m`, `h` or `d`.
fn parse(text: &str) -> Option<ListCacheAge> {
    let t = text.trim();
    if t.parse::<f64>().is_ok_and(|n| n == 0.0) {
        return Some(ListCacheAge::Off);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return None,
    };
    if secs == 0.0 {
        return Some(ListCacheAge::Off);
    }
    within(secs)
}

/// `secs` seconds as an age, if from 1 ms to [`LONGEST_LIST_CACHE`].
fn within(secs: f64) -> Option<ListCacheAge> {
    let d = Duration::try_from_secs_f64(secs).ok()?;
    (super::SHORTEST..=LONGEST_LIST_CACHE)
        .contains(&d)
        .then_some(ListCacheAge::For(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Entry {
        list_cache: ListCacheAge,
    }

    fn read(value: &str) -> Result<ListCacheAge, String> {
        toml::from_str::<Entry>(&format!("list_cache = {value}"))
            .map(|e| e.list_cache)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn durations_zero_and_mistakes() {
        assert_eq!(read("\"7d\""), Ok(ListCacheAge::For(Duration::from_secs(604_800))));
        assert_eq!(read("\"12h\""), Ok(ListCacheAge::For(Duration::from_secs(43_200))));
        assert_eq!(read("\"30m\""), Ok(ListCacheAge::For(Duration::from_secs(1800))));
        assert_eq!(read("90"), Ok(ListCacheAge::For(Duration::from_secs(90))));
        for off in ["\"0\"", "0", "\"0h\""] {
            assert_eq!(read(off), Ok(ListCacheAge::Off), "{off}");
        }
        assert_eq!(read("\"365d\""), Ok(ListCacheAge::For(LONGEST_LIST_CACHE)));
        for bad in [
            "\"soon\"",
            "\"7w\"",
            "-1",
            "\"1e400d\"",
            "\"366d\"",
            "1e300",
            "nan",
            "\"0.0000001s\"",
        ] {
            let e = read(bad).unwrap_err();
            assert!(e.contains("list_cache is a duration"), "{bad}: {e}");
        }
        assert_eq!(ListCacheAge::default().max_age(), Some(DEFAULT_LIST_CACHE));
    }
}
