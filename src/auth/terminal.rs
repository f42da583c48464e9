//! The person-facing side of OAuth: signing in and out at a terminal
//! (progress on stderr; with `login --no-browser` the sign-in URL alone on
//! stdout), and a stored token's state in words. Nothing here ever prints a
//! token or a secret. Which servers `login`, `logout` and `status` act on
//! is `cli/sign_in.rs`.

use super::flow::Want;
use super::grant::Progress;
use super::{OAuth, login_timeout, record, token};
use crate::redact::display_url;
use crate::store::{Record, now};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `login` waits for the browser unless `$MCP_BRIDGE_LOGIN_TIMEOUT` says otherwise.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Sign in to one server, in the browser (or, with `no_browser`, with the
/// URL printed for the person to open).
pub async fn login(oauth: Arc<OAuth>, no_browser: bool) -> Result<(), String> {
    let name = oauth.name().to_string();
    eprintln!("Signing in to `{name}` ({})…", display_url(&oauth.settings.url));
    let timeout = login_timeout(LOGIN_TIMEOUT);
    for round in 0..2 {
        let want = Want {
            open_browser: !no_browser,
            scopes: None,
            fresh: true,
            timeout,
        };
        let begun = oauth.begin(want).await?;
        if no_browser {
            crate::outln!("{}", begun.url);
            eprintln!("Open the URL above in a browser to sign in.");
        } else if begun.opened {
            eprintln!(
                "Opened your browser. If nothing appeared, open this URL:\n  {}",
                begun.url
            );
        } else {
            eprintln!("Open this URL in a browser to sign in:\n  {}", begun.url);
        }
        let mut done = begun.done.ok_or("the sign-in did not start")?;
        eprintln!(
            "Waiting for the sign-in (up to {}s; Ctrl-C to cancel)…",
            timeout.as_secs()
        );
        let started = Instant::now();
        let outcome = loop {
            let tick = tokio::time::sleep(Duration::from_secs(15));
            tokio::select! {
                r = done.wait_for(|p| *p != Progress::Waiting) => break r.map(|p| p.clone()),
                _ = tick => eprintln!("  still waiting… ({}s)", started.elapsed().as_secs()),
            }
        };
        match outcome {
            Ok(Progress::Done) => {
                let rec = oauth.store.load(&name).ok().flatten().unwrap_or_default();
                eprintln!("Signed in to `{name}`: {}.", describe(&rec));
                return Ok(());
            }
            Ok(Progress::Failed(e)) if round == 0 && e.contains("registration was dropped") => {
                eprintln!("The server no longer knew mcp-bridge's registration; registering again…");
            }
            Ok(Progress::Failed(e)) => return Err(format!("sign-in to `{name}` failed: {e}")),
            _ => return Err(format!("sign-in to `{name}` was interrupted")),
        }
    }
    Err(format!("sign-in to `{name}` failed twice; see the messages above"))
}

/// Sign out of one server: revoke its tokens where the server offers it,
/// and forget them and the client registration.
pub async fn logout(oauth: Arc<OAuth>) -> Result<(), String> {
    let name = oauth.name().to_string();
    let lock = oauth.store.lock(&name).await.map_err(|e| e.to_string())?;
    let Some(mut rec) = oauth.store.load(&name).map_err(|e| e.to_string())? else {
        eprintln!("Not signed in to `{name}`; nothing to do.");
        return Ok(());
    };
    let mut o = record::oauth(&rec);
    let mut revoked = Vec::new();
    match (&o.revocation_endpoint, &o.client) {
        (Some(endpoint), Some(client)) => {
            let client = oauth.effective(client.clone());
            let tokens = [
                (rec.refresh_token.clone(), "refresh_token"),
                (rec.access_token.clone(), "access_token"),
            ];
            for (t, hint) in tokens {
                let Some(t) = t else { continue };
                match token::revoke(oauth.http()?, endpoint, &client, &t, hint).await {
                    Ok(()) => revoked.push(hint.replace('_', " ")),
                    Err(e) => eprintln!("Could not revoke the {}: {e}", hint.replace('_', " ")),
                }
            }
        }
        _ if rec.access_token.is_some() || rec.refresh_token.is_some() => {
            eprintln!("The server offers no token revocation; forgetting the tokens only.");
        }
        _ => {}
    }
    record::clear_tokens(&mut rec);
    o.client = None;
    o.registrations.clear();
    o.pending = None;
    o.lifetime = None;
    record::set_oauth(&mut rec, &o);
    oauth.store.save(&name, &rec).map_err(|e| e.to_string())?;
    drop(lock);
    if revoked.is_empty() {
        eprintln!("Signed out of `{name}`: tokens and client registration forgotten.");
    } else {
        eprintln!(
            "Signed out of `{name}`: revoked the {}; tokens and client registration forgotten.",
            revoked.join(" and ")
        );
    }
    Ok(())
}

/// What the bridge holds for one server, in words with no secret.
pub fn server_state(entry: &crate::config::ServerEntry, rec: Option<Record>) -> String {
    let stored = rec.filter(|r| r.access_token.is_some() || r.refresh_token.is_some());
    match (entry.auth.as_deref(), entry.provider_name(), stored) {
        (Some("oauth"), _, rec) => describe(&rec.unwrap_or_default()),
        (Some(kind @ ("client_credentials" | "enterprise")), _, Some(rec)) => {
            format!("{kind} grant: access token {}", token_words(&rec))
        }
        (Some(kind @ ("client_credentials" | "enterprise")), _, None) => {
            format!("{kind} grant: no token yet (fetched on first use, no browser)")
        }
        (_, "sandbox", _) => "built-in sandbox: no sign-in needed".to_string(),
        (_, provider, Some(rec)) => format!("{provider} token {}", token_words(&rec)),
        (_, "pipedream", None) => "no token yet: fetched with `client_id`/`client_secret` on first use".to_string(),
        (_, "zapier", None) if entry.refresh_token.is_some() => {
            "white-label tokens from the config (not refreshed yet)".to_string()
        }
        _ if entry.bearer.is_some() || entry.token.is_some() || !entry.headers.is_empty() => {
            "static credentials from the config".to_string()
        }
        _ => "no credentials configured".to_string(),
    }
}

/// A stored token's lifetime in words: "valid until …, refreshable", …
fn token_words(rec: &Record) -> String {
    let refreshable = if rec.refresh_token.is_some() {
        ", refreshable"
    } else {
        ""
    };
    match rec.expires_at {
        Some(e) if e > now() => format!("valid until {}{refreshable}", utc(e)),
        Some(_) => format!("expired{refreshable} (renewed on next use)"),
        None => format!("held (no expiry given){refreshable}"),
    }
}

/// A record's token state in words, with no secret.
pub fn describe(rec: &Record) -> String {
    let refreshable = rec.refresh_token.is_some();
    let mut s = match (&rec.access_token, rec.expires_at) {
        (None, _) if refreshable => "refreshable (no access token yet)".to_string(),
        (None, _) => "not signed in".to_string(),
        (Some(_), Some(e)) if e > now() => format!(
            "signed in, valid until {}{}",
            utc(e),
            if refreshable { ", refreshable" } else { "" }
        ),
        (Some(_), Some(_)) if refreshable => "expired, refreshable (refreshes on next use)".to_string(),
        (Some(_), Some(_)) => "expired, not refreshable (run `mcp-bridge login`)".to_string(),
        (Some(_), None) => format!(
            "signed in (no expiry given){}",
            if refreshable { ", refreshable" } else { "" }
        ),
    };
    if let Some(scope) = rec.scope.as_deref().filter(|s| !s.is_empty()) {
        s.push_str(&format!("; scopes: {}", crate::untrusted::escape(scope)));
    }
    if record::oauth(rec).pending.is_some_and(|p| p.expires_at > now()) {
        s.push_str("; a sign-in is waiting for the browser");
    }
    s
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM UTC`.
fn utc(secs: u64) -> String {
    let (y, mo, d, h, m, _) = crate::store::utc_parts(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_827_696), "2000-02-29 12:34 UTC");
        assert_eq!(utc(1_795_441_500), "2026-11-23 13:45 UTC");
    }

    #[test]
    fn describe_never_shows_tokens() {
        let rec = Record {
            access_token: Some("at-secret".into()),
            refresh_token: Some("rt-secret".into()),
            expires_at: Some(now() + 3600),
            ..Default::default()
        };
        let d = describe(&rec);
        assert!(d.starts_with("signed in, valid until"), "{d}");
        assert!(d.contains("refreshable") && !d.contains("secret"), "{d}");
        assert_eq!(describe(&Record::default()), "not signed in");
    }

    #[test]
    fn describe_escapes_the_scope_the_token_endpoint_gave() {
        let rec = Record {
            access_token: Some("at".into()),
            scope: Some("read\u{1b}]0;owned\u{7}\nwrite".into()),
            ..Default::default()
        };
        let d = describe(&rec);
        assert!(d.ends_with("; scopes: read\\u{1b}]0;owned\\u{7}\\nwrite"), "{d}");
    }
}
