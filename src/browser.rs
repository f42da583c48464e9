//! Opening a link in the person's browser (a sign-in's authorize URL, a
//! connect link): the command in `$MCP_BRIDGE_BROWSER` (split on
//! whitespace, the URL appended), else the platform's opener. The child
//! never inherits stdout, which carries the protocol in `serve`.
//!
//! Every open goes through one gate, `check`: the links come from remotes
//! and their metadata, and a platform opener hands whatever it gets to the
//! shell (on Windows `url.dll` runs `file:` paths, UNC shares and any
//! registered protocol). Only `https:` is opened, and `http:` to this
//! machine (a local sign-in page); never a URL with a control character or
//! whitespace in it, or with a user name or password before its host. A
//! refused URL is named, escaped, in the error, and never opened.

use std::process::{Command, Stdio};
use url::Url;

/// Environment variable naming the command that opens the browser (the
/// URL is appended as its last argument). Tests count opens with it.
pub const BROWSER_ENV: &str = "MCP_BRIDGE_BROWSER";

/// The longest part of a refused URL an error shows.
const SHOWN: usize = 200;

/// The URL the browser may be given for `link`, or why it may not.
pub fn check(link: &str) -> Result<Url, String> {
    let refuse = |why: &str| {
        Err(format!(
            "refusing to open `{}` in the browser: {why}",
            crate::untrusted::excerpt(link, SHOWN)
        ))
    };
    // Checked on the text as given: URL parsing drops tabs and newlines.
    if link
        .chars()
        .any(|c| c.is_whitespace() || crate::untrusted::is_unsafe(c))
    {
        return refuse("it holds whitespace or control characters");
    }
    let Ok(url) = Url::parse(link) else {
        return refuse("it is not a URL");
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if crate::net::is_loopback(&url) => {}
        "http" => return refuse("plain http:// is opened only for this machine (localhost, 127.0.0.1, [::1])"),
        _ => return refuse("only https:// links are opened"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("it names a user before its host");
    }
    Ok(url)
}

fn command() -> Option<(String, Vec<String>)> {
    if let Ok(cmd) = std::env::var(BROWSER_ENV) {
        let mut parts = cmd.split_whitespace().map(str::to_string);
        let program = parts.next()?;
        return Some((program, parts.collect()));
    }
    if cfg!(target_os = "macos") {
        Some(("open".into(), vec![]))
    } else if cfg!(windows) {
        Some(("rundll32".into(), vec!["url.dll,FileProtocolHandler".into()]))
    } else {
        Some(("xdg-open".into(), vec![]))
    }
}

/// Start the browser on `url`, if the gate lets it through, without
/// waiting for it.
pub fn open(url: &str) -> Result<(), String> {
    let url = check(url)?;
    let (program, args) = command().ok_or_else(|| format!("${BROWSER_ENV} is empty"))?;
    let mut child = Command::new(&program)
        .args(&args)
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{program}` to open the browser: {e}"))?;
    // Reap it whenever it ends.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    tracing::info!("opened the browser");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn the_gate_lets_through_https_and_local_http_only() {
        for ok in [
            "https://pipedream.com/_static/connect.html?token=ctok_1&app=slack",
            "https://auth.example.com:8443/authorize?client_id=c&state=s",
            "http://127.0.0.1:4100/authorize?x=1",
            "http://localhost/connect",
            "http://[::1]:9/a",
        ] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
    }

    #[test]
    fn the_gate_refuses_shell_handled_schemes_remote_http_and_smuggled_text() {
        for bad in [
            "file:///etc/passwd?response_type=code",
            "search-ms:query=invoice&crumb=location:\\\\evil.example\\share",
            "\\\\evil.example\\share\\x.exe",
            "javascript:alert(1)",
            "data:text/html,<script>x</script>",
            "vscode://file/etc/passwd",
            "ms-settings:",
            "http://evil.example/authorize",
            "http://192.168.1.20/connect",
            "https://pipedream.com/c?t=1\nINFO forged line",
            "https://pipedream.com/c?t=1\tx",
            "https://pipedream.com/c t",
            "https://good.example@evil.example/",
            "https://user:pw@evil.example/",
            " https://pipedream.com/",
            "",
        ] {
            let e = check(bad).expect_err(bad);
            assert!(e.starts_with("refusing to open `"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\t'), "{e}");
        }
    }
}
