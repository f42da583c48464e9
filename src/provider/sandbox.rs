//! `provider = "sandbox"`: start the built-in sandbox provider in-process on
//! an ephemeral loopback port, guarded by a fresh random bearer token, and
//! relay to it over real HTTP. Needs no account.

use super::{Prepared, Setup};
use crate::config::ConfigError;
use crate::credential::Static;
use crate::sandbox::{Sandbox, SandboxOptions};
use futures::future::BoxFuture;
use std::sync::Arc;

pub fn prepare<'s>(setup: &'s Setup<'_>) -> BoxFuture<'s, Result<Prepared, ConfigError>> {
    Box::pin(start(setup))
}

async fn start(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    let token = format!("sbx_{}", uuid::Uuid::new_v4().simple());
    setup.redactor.add(token.clone());
    let sandbox = Sandbox::start(SandboxOptions {
        port: 0,
        token: Some(token.clone()),
        session_ttl: setup.entry.session_ttl.map(|t| t.0),
    })
    .await
    .map_err(|e| setup.error("provider", format!("cannot start the sandbox on 127.0.0.1: {e}")))?;
    let mut url = url::Url::parse(&sandbox.url()).map_err(|e| setup.error("provider", e.to_string()))?;
    setup.apply_query(&mut url)?;
    let credential =
        Static::bearer(&token, "the sandbox refused its own token").map_err(|e| setup.error("provider", e.0))?;
    let mut prepared = Prepared::new(setup.endpoint(url, Arc::new(credential))?);
    prepared.keep_alive.push(Box::new(sandbox));
    Ok(prepared)
}
