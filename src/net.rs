//! The HTTP clients' proxy policy: `HTTP_PROXY`, `HTTPS_PROXY` and
//! `ALL_PROXY` from the environment (and `NO_PROXY`) apply to servers
//! elsewhere, never to one on this machine (the sandbox, a local dev server,
//! an OAuth server or token endpoint on loopback). A corporate proxy cannot
//! reach the person's own loopback, so going through it would fail.
//!
//! Also the reqwest clients the process shares, one for MCP remotes
//! (`shared_client`) and one for token endpoints (`token_client`): building
//! a client loads the platform's root certificates, a few milliseconds each
//! time, and a bundle of servers or a provider with a token endpoint would
//! otherwise pay it once per client.
//!
//! Their redirect policy keeps secrets where they were sent: an MCP request
//! (which carries the configured secret headers and query) follows a
//! redirect only to the same origin, and a token request (a client secret
//! in its body) or an OAuth registration follows none. No client ever sends
//! a `Referer`, which would carry the URL and its `?api_key=`.

use reqwest::{ClientBuilder, NoProxy, Proxy};
use std::sync::OnceLock;
use std::time::Duration;
use url::Url;

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an idle connection to a server is kept for the next request.
pub const POOL_IDLE: Duration = Duration::from_secs(60);

/// How many redirects an MCP request follows (each to the same origin).
const MAX_REDIRECTS: usize = 10;

/// The process's HTTP client for MCP remotes: the environment's proxies
/// (never for loopback), TLS with the platform's roots, redirects followed
/// only within the origin, no `Referer`, no overall timeout (callers set
/// one per request where they need it). Made at first use and shared after
/// that (a clone is a handle to the same client and connection pool).
pub fn shared_client() -> Result<reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let same_origin = reqwest::redirect::Policy::custom(|attempt| {
                let from = attempt.previous().first().map(Url::origin);
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else if from.is_some_and(|o| o == attempt.url().origin()) {
                    attempt.follow()
                } else {
                    // The response is the redirect itself: an error status.
                    tracing::warn!("not following a redirect to another origin (the request carries secrets)");
                    attempt.stop()
                }
            });
            base_builder()
                .redirect(same_origin)
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .clone()
}

/// The process's HTTP client for token endpoints: as `shared_client`, but
/// following no redirect at all (the request carries a client secret or
/// refresh token, which must reach the endpoint named and nothing else).
pub fn token_client() -> Result<reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            base_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .clone()
}

/// The most read of an answer from an authorization server or a token
/// endpoint (metadata, tokens, a registration): each is a few KiB, and one
/// that goes on (a broken or hostile server) is cut off here rather than
/// read into memory until the request's timeout.
pub const MAX_SMALL_BODY: usize = 1 << 20;

/// `resp`'s body, unless it is longer than [`MAX_SMALL_BODY`]. The error
/// says which (too long, or the read failed) and names no URL.
pub async fn small_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_long = || format!("the answer is longer than {} MiB; not read", MAX_SMALL_BODY >> 20);
    if resp.content_length().is_some_and(|n| n > MAX_SMALL_BODY as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("cannot read the answer: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_SMALL_BODY {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn base_builder() -> ClientBuilder {
    proxies(reqwest::Client::builder())
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE)
        .referer(false)
}

/// Whether the bridge may send secrets to `url`: `https://`, or plain
/// `http://` to this machine, or (`allow_http`) to anywhere. The error says
/// what is wrong, for a message that names the key.
pub fn require_https(url: &Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "is plain http:// to {}, another machine: credentials and every message would cross the network unencrypted",
            crate::untrusted::escape(url.host_str().unwrap_or("?"))
        )),
        other => Err(format!(
            "has scheme `{}`, not https://",
            crate::untrusted::escape(other)
        )),
    }
}

/// Whether `url` is plain `http://` to another machine: what `allow_http`
/// lets through, with a warning.
pub fn plain_http_elsewhere(url: &Url) -> bool {
    url.scheme() == "http" && !is_loopback(url)
}

/// The warning for `what` (a key, an endpoint) of server `server`, plain
/// http to another machine that `allow_http = true` lets through.
pub fn warn_plain_http(server: &str, what: &str, url: &Url) {
    tracing::warn!(
        "server `{server}`: {what} is plain http:// to {}, another machine (`allow_http = true`): credentials and \
         messages cross the network unencrypted",
        crate::untrusted::escape(url.host_str().unwrap_or("?"))
    );
}

/// Whether `url` names this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the environment names a proxy for `url` (`HTTP_PROXY` for
/// `http://`, `HTTPS_PROXY` for `https://`, or `ALL_PROXY`, unless
/// `NO_PROXY` lists its host); never for this machine. Such a server is
/// reached through reqwest, which speaks to proxies; the remote side's own
/// connections go only where no proxy applies.
pub fn proxied(url: &Url) -> bool {
    let scheme_vars: &[&str] = match url.scheme() {
        "https" => &["https_proxy", "HTTPS_PROXY"],
        _ => &["http_proxy", "HTTP_PROXY"],
    };
    let proxy = env_any(scheme_vars).or_else(|| env_any(&["all_proxy", "ALL_PROXY"]));
    proxied_by(
        url,
        proxy.is_some(),
        &env_any(&["NO_PROXY", "no_proxy"]).unwrap_or_default(),
    )
}

/// `proxied` with the environment read: `proxy` names one, `no_proxy` is
/// the list of hosts that skip it (`*`, names matching themselves and their
/// subdomains, a leading dot allowed). An entry this does not read (an
/// address range) skips nothing: reqwest, which reads it, gets the server.
fn proxied_by(url: &Url, proxy: bool, no_proxy: &str) -> bool {
    if !proxy || is_loopback(url) {
        return false;
    }
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    let skipped = no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            let entry = entry.split(':').next().unwrap_or("");
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        });
    !skipped
}

/// The first non-empty value of these environment variables.
fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

type MakeProxy = fn(String) -> reqwest::Result<Proxy>;

/// What every proxy skips besides what `NO_PROXY` lists.
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

/// Adds this machine to `NO_PROXY` (and `no_proxy`) when the environment
/// names a proxy, so that HTTP clients the bridge does not build itself
/// (rmcp's, for OAuth client registration) skip it for loopback too.
/// Called first thing in `main`, before any thread is started.
pub fn exempt_loopback_from_env_proxies() {
    let names = [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ];
    if env_any(&names).is_none() {
        return;
    }
    let listed = env_any(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    let value = if listed.trim().is_empty() {
        LOOPBACK.to_string()
    } else {
        format!("{listed},{LOOPBACK}")
    };
    // SAFETY: main calls this before the runtime or any other thread starts,
    // so nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("NO_PROXY", &value);
        std::env::set_var("no_proxy", &value);
    }
}

/// `builder` with the environment's proxies, each skipping loopback hosts
/// (as well as whatever `NO_PROXY` lists).
pub fn proxies(builder: ClientBuilder) -> ClientBuilder {
    let listed = env_any(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    let skip = format!("{listed},{LOOPBACK}");
    let mut builder = builder.no_proxy();
    let kinds: [(&[&str], MakeProxy); 3] = [
        (&["http_proxy", "HTTP_PROXY"], |u| Proxy::http(u)),
        (&["https_proxy", "HTTPS_PROXY"], |u| Proxy::https(u)),
        (&["all_proxy", "ALL_PROXY"], |u| Proxy::all(u)),
    ];
    for (names, make) in kinds {
        let Some(url) = env_any(names) else {
            continue;
        };
        match make(url) {
            Ok(p) => builder = builder.proxy(p.no_proxy(NoProxy::from_string(&skip))),
            // The value may hold a password: not shown.
            Err(_) => tracing::warn!("ignoring {}: not a proxy URL", names[1]),
        }
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_applies_unless_no_proxy_or_loopback_skips_it() {
        let url = |u: &str| Url::parse(u).unwrap();
        let hosted = url("https://mcp.example.com/mcp");
        assert!(!proxied_by(&hosted, false, ""), "no proxy named");
        assert!(proxied_by(&hosted, true, ""));
        assert!(proxied_by(&hosted, true, "other.example, 10.0.0.0/8"));
        for skip in [
            "*",
            "example.com",
            ".example.com",
            "mcp.example.com:443",
            " EXAMPLE.com ",
        ] {
            assert!(!proxied_by(&hosted, true, skip), "{skip}");
        }
        assert!(proxied_by(&hosted, true, "ample.com"), "a suffix that is not a domain");
        assert!(
            !proxied_by(&url("http://127.0.0.1:9/mcp"), true, ""),
            "never for this machine"
        );
    }

    #[test]
    fn loopback_hosts() {
        for u in [
            "http://localhost:1/x",
            "http://127.0.0.1/",
            "http://127.9.9.9/",
            "http://[::1]:8/",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["https://example.com/", "http://10.0.0.1/", "http://localhost.example/"] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }
}
