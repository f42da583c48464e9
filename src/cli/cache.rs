//! `cache clear [name]`: forget what the bridge keeps of a server's
//! handshake and lists for a warm start (the list cache, in `lists/` of the
//! data dir), for one server or all. The next start asks the server itself.

use super::CliError;
use crate::store::Store;

pub fn clear(name: Option<&str>) -> Result<(), CliError> {
    let store = Store::open_default()
        .map_err(|e| CliError::Failed(format!("cannot find the data dir ({e}); set MCP_BRIDGE_DATA_DIR")))?;
    let removed = crate::remote::list_cache::clear(&store, name).map_err(|e| {
        CliError::Failed(format!(
            "cannot remove the list cache in {}: {e}",
            store.dir().join("lists").display()
        ))
    })?;
    match (name, removed.len()) {
        (Some(name), 0) => crate::outln!("No list cache for `{name}`: nothing to clear."),
        (Some(name), _) => crate::outln!("Cleared the list cache of `{name}`; its next start asks the server."),
        (None, n) => crate::outln!(
            "Cleared {n} list cache(s) in {}; each server's next start asks the server.",
            store.dir().join("lists").display()
        ),
    }
    Ok(())
}
