//! `provider = "generic"`: any MCP server. `url`, plus an optional static
//! `bearer` token and extra `headers` and `query` parameters.

use super::{Prepared, Setup};
use crate::config::ConfigError;

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    // `url` and `bearer` each on their own (`each`): `check` shows both.
    let url = setup.each(setup.url(None))?;
    let credential = setup.each(setup.bearer())?;
    let (Some(mut url), Some(credential)) = (url, credential) else {
        return Err(setup.noted());
    };
    setup.apply_query(&mut url)?;
    Ok(Prepared::new(setup.endpoint(url, credential)?))
}
