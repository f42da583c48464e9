//! `max_message_size`: the largest message the bridge holds for a server
//! (a stdin line, a response body, an SSE event), as a number of bytes or a
//! string such as `"64MiB"`, `"512KiB"`, `"1GiB"` (`KB`, `MB`, `GB` are
//! powers of 1000), from [`SMALLEST`] to [`LARGEST`].

use serde::Deserialize;

/// The default: big enough for the largest real tool results (a file's
/// contents, a long table), small enough that a runaway remote cannot take
/// the machine's memory.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 128 << 20;
/// The smallest limit a config may set: room for an ordinary answer.
pub const SMALLEST: usize = 1 << 10;
/// The largest: 4 GiB (or what the platform can address).
pub const LARGEST: usize = (u32::MAX as usize).saturating_add(1);

/// A size in bytes, from a config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub usize);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(i64),
            Text(String),
        }
        let parsed = match Raw::deserialize(d)? {
            Raw::Bytes(n) => usize::try_from(n).ok().filter(|n| (SMALLEST..=LARGEST).contains(n)),
            Raw::Text(t) => parse_size(&t),
        };
        parsed.map(Size).ok_or_else(|| {
            serde::de::Error::custom(
                "a size is a number of bytes or a string like \"64MiB\", \"512KiB\" or \"1GiB\", from 1KiB to 4GiB",
            )
        })
    }
}

/// `"64MiB"`, `"1.5 GiB"`, `"2048"`… in bytes, if within the limits.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    let bytes = n * scale;
    // Compared as a float first: a float past usize::MAX would saturate.
    (bytes.is_finite() && bytes >= SMALLEST as f64 && bytes <= LARGEST as f64).then_some(bytes as usize)
}

/// `bytes` for a person: `128 MiB`, `1.5 GiB`, `2048 bytes`.
pub fn shown(bytes: usize) -> String {
    let units = [(1usize << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in units {
        if bytes >= size {
            let n = bytes as f64 / size as f64;
            return match n.fract() == 0.0 {
                true => format!("{n} {unit}"),
                false => format!("{n:.1} {unit}"),
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_any_unit_within_the_limits() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size(" 1.5 GiB "), Some(3 << 29));
        assert_eq!(parse_size("2048"), Some(2048));
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        for bad in [
            "", "MiB", "0", "1023", "5GiB", "1e400", "-1KiB", "1 TB", "nan", "1..2KiB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(shown(128 << 20), "128 MiB");
        assert_eq!(shown(3 << 29), "1.5 GiB");
        assert_eq!(shown(1000), "1000 bytes");
    }
}
