//! `provider = "generic"`: any MCP server. `url`, plus an optional static
//! `bearer` token and extra `headers` and `query` parameters.

use super::{Prepared, Setup};
use crate::config::ConfigError;

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    let mut url = setup.url(None)?;
    setup.apply_query(&mut url)?;
    let credential = setup.bearer()?;
    Ok(Prepared::new(setup.endpoint(url, credential)?))
}
