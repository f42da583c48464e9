//! How a server is spoken to: its transport (`transport = …`) and its
//! protocol era (`protocol = …`).

use serde::Deserialize;

/// How the bridge talks to the remote.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP, falling back to legacy HTTP+SSE when initialize is refused.
    #[default]
    Auto,
    StreamableHttp,
    Sse,
}

/// Which protocol era the bridge speaks to the remote (`protocol = …`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Ask the remote with `server/discover` (remembered), fall back to
    /// `initialize` as the 2026-07-28 revision's compatibility rules say.
    #[default]
    Auto,
    /// This revision, without asking.
    Pinned(String),
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "auto" {
            return Ok(Protocol::Auto);
        }
        if crate::era::is_modern(&text) || crate::era::is_legacy(&text) {
            return Ok(Protocol::Pinned(text));
        }
        let known: Vec<&str> = crate::era::MODERN_VERSIONS
            .iter()
            .chain(crate::era::LEGACY_VERSIONS)
            .copied()
            .collect();
        Err(serde::de::Error::custom(format!(
            "`{}` is not a protocol revision the bridge speaks: use \"auto\" or one of {}",
            text.escape_debug(),
            known.join(", ")
        )))
    }
}
