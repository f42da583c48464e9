//! The Pipedream emulator's connected accounts, for the connect-link flow:
//! with `PipedreamOptions::require_accounts`, an external user starts with
//! no account for an app, and a tool call answers the way the hosted server
//! does (text with a Connect Link, `accountRequired: true`, `connectUrl`,
//! `isError: false`). The link is a loopback URL on the emulator
//! (`/_static/connect.html?token=ctok_…&connectLink=true&app=…`); fetching
//! it connects the account (a token works once). Connected users see one
//! more tool. `spurious_account_required(n)` makes the next n calls answer
//! `accountRequired` although the account exists, as Pipedream sometimes does.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const CONNECT_PATH: &str = "/_static/connect.html";

#[derive(Default)]
pub struct Accounts {
    pub required: bool,
    /// `http://127.0.0.1:PORT`, set once the server listens.
    pub base: OnceLock<String>,
    /// (external user, app) pairs with an account.
    connected: Mutex<HashSet<(String, String)>>,
    /// Unused connect tokens → (external user, app).
    tokens: Mutex<HashMap<String, (String, String)>>,
    spurious: AtomicU64,
}

impl Accounts {
    pub fn new(required: bool) -> Self {
        Self {
            required,
            ..Default::default()
        }
    }

    pub fn is_connected(&self, user: &str, app: &str) -> bool {
        !self.required || lock(&self.connected).contains(&(user.to_string(), app.to_string()))
    }

    pub fn set_spurious(&self, n: u64) {
        self.spurious.store(n, Ordering::SeqCst);
    }

    fn take_spurious(&self) -> bool {
        self.spurious
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The connect link for `user` and `app`: one live token per pair.
    pub fn link(&self, user: &str, app: &str) -> String {
        let mut tokens = lock(&self.tokens);
        let pair = (user.to_string(), app.to_string());
        let token = match tokens.iter().find(|(_, p)| **p == pair) {
            Some((t, _)) => t.clone(),
            None => {
                let t = format!("ctok_{}", uuid::Uuid::new_v4().simple());
                tokens.insert(t.clone(), pair);
                t
            }
        };
        let base = self.base.get().map(String::as_str).unwrap_or("http://127.0.0.1");
        format!("{base}{CONNECT_PATH}?token={token}&connectLink=true&app={app}")
    }

    /// The answer to a call when the account is missing (or a spurious one).
    pub fn account_required(&self, user: &str, app: &str) -> Option<Value> {
        if self.is_connected(user, app) && !self.take_spurious() {
            return None;
        }
        let url = self.link(user, app);
        Some(json!({
            "content": [{"type": "text", "text": format!("Go to: {url} to connect your account.")}],
            "isError": false,
            "accountRequired": true,
            "connectUrl": url,
        }))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// GET on a connect link: connects the account, once per token.
pub async fn connect(State(acc): State<Arc<Accounts>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    let Some(pair) = lock(&acc.tokens).remove(&token) else {
        return (StatusCode::GONE, "This connect link has expired or was already used.").into_response();
    };
    let app = pair.1.clone();
    lock(&acc.connected).insert(pair);
    Html(format!(
        "<p>Your {app} account is connected. You can close this tab.</p>"
    ))
    .into_response()
}
