//! What the remote side knows of the eras on both sides (`EraShared`): set
//! by `era` as it finds them, read by the era's transforms of the remote's
//! answers (`legacy_asks`, `input_rounds`, `result_shapes`,
//! `modern::ToolHeaders`) to tell whether there is anything to translate.

use crate::era;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the remote side knows of the eras on both sides, shared with the
/// era's transforms.
pub(crate) struct EraShared {
    pub server: String,
    pub timeout: Duration,
    remote_modern: AtomicBool,
    remote_legacy: AtomicBool,
    client_legacy: AtomicBool,
    client_modern: AtomicBool,
    /// Each tool's `x-mcp-header` declarations, from the last `tools/list`.
    pub declared: Mutex<HashMap<String, era::headers::ParamHeaders>>,
}

impl EraShared {
    pub fn new(server: &str, timeout: Duration) -> Self {
        EraShared {
            server: server.to_string(),
            timeout,
            remote_modern: AtomicBool::new(false),
            remote_legacy: AtomicBool::new(false),
            client_legacy: AtomicBool::new(false),
            client_modern: AtomicBool::new(false),
            declared: Mutex::new(HashMap::new()),
        }
    }

    /// The remote was found to speak a modern revision (or a legacy one).
    pub fn set_remote(&self, modern: bool) {
        self.remote_modern.store(modern, Ordering::Relaxed);
        self.remote_legacy.store(!modern, Ordering::Relaxed);
    }

    /// The client was found to speak a modern revision (or a legacy one).
    pub fn set_client(&self, modern: bool) {
        self.client_legacy.store(!modern, Ordering::Relaxed);
        self.client_modern.store(modern, Ordering::Relaxed);
    }

    /// The client speaks a modern revision.
    pub fn client_modern(&self) -> bool {
        self.client_modern.load(Ordering::Relaxed)
    }

    /// The remote speaks a modern revision.
    pub fn modern(&self) -> bool {
        self.remote_modern.load(Ordering::Relaxed)
    }

    /// Whether `tool`'s calls carry `Mcp-Param-*` headers.
    pub fn declares(&self, tool: &str) -> bool {
        self.declared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tool)
            .is_some_and(|d| !d.is_empty())
    }

    /// A modern client talks to a legacy remote: the bridge answers in the
    /// modern revision's shapes.
    pub fn upgrading(&self) -> bool {
        self.remote_legacy.load(Ordering::Relaxed) && self.client_modern.load(Ordering::Relaxed)
    }

    /// A legacy client talks to a modern remote: the bridge translates.
    pub fn translating(&self) -> bool {
        self.modern() && self.client_legacy.load(Ordering::Relaxed)
    }
}
