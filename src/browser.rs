//! Opening a link in the person's browser (a sign-in's authorize URL, a
//! connect link): the command in `$MCP_BRIDGE_BROWSER` (split on
//! whitespace, the URL appended), else the platform's opener. The child
//! never inherits stdout, which carries the protocol in `serve`.

use std::process::{Command, Stdio};

/// Environment variable naming the command that opens the browser (the
/// URL is appended as its last argument). Tests count opens with it.
pub const BROWSER_ENV: &str = "MCP_BRIDGE_BROWSER";

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

/// Start the browser on `url` without waiting for it.
pub fn open(url: &str) -> Result<(), String> {
    let (program, args) = command().ok_or_else(|| format!("${BROWSER_ENV} is empty"))?;
    let mut child = Command::new(&program)
        .args(&args)
        .arg(url)
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
