//! Durations as the config writes them: a number of seconds or text such
//! as `"30s"`, held to a range so no value (`1e300`, `nan`, `-1`) can
//! overflow a clock: `timeout` and `session_ttl` ([`Timeout`]), and the
//! reading `list_cache` shares ([`Raw`]).

use serde::Deserialize;
use std::time::Duration;

/// A timeout: seconds as a number, or a string such as `"30s"`, `"2m"`, `"500ms"`,
/// from [`SHORTEST`] to [`LONGEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

/// A duration as the config writes it: a number of seconds, or text such
/// as `"30s"` (each key reads the text its own way).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Raw {
    Secs(f64),
    Text(String),
}

/// The shortest duration a config or environment value may give.
pub const SHORTEST: Duration = Duration::from_millis(1);
/// The longest: a day. Beyond it a request is not bounded in any sense a
/// person notices, and a clock plus it could no longer be represented.
pub const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// `secs` seconds as a duration, if it is a number from [`SHORTEST`] to
/// [`LONGEST`] (not NaN, not infinite, not so large it cannot be held).
pub fn duration_from_secs(secs: f64) -> Option<Duration> {
    let d = Duration::try_from_secs_f64(secs).ok()?;
    (SHORTEST..=LONGEST).contains(&d).then_some(d)
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bad = || {
            serde::de::Error::custom(
                "a timeout is a number of seconds or a string like \"30s\", \"2m\" or \"500ms\", from 1ms to 24h (a day)",
            )
        };
        // duration_from_secs: a number too large for a Duration (1e300) is an error, not a panic.
        let parsed = match Raw::deserialize(d)? {
            Raw::Secs(s) => duration_from_secs(s),
            Raw::Text(t) => parse_duration(&t),
        };
        parsed.map(Timeout).ok_or_else(bad)
    }
}

pub(super) fn parse_duration(t: &str) -> Option<Duration> {
    let t = t.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    duration_from_secs(secs)
}
