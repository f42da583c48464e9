//! What the commands for people (`tools`, `call`, `doctor`, `demo`, …)
//! print on stdout, through [`outln!`](crate::outln) and [`out!`](crate::out).
//!
//! Two things `println!` gets wrong here. A reader that stops early
//! (`mcp-bridge tools x | head`) closes the pipe, and `println!` then panics
//! with a backtrace; here the command ends quietly, as a Unix filter does.
//! And stdout is the MCP channel once `serve` has it: `client::stdout()`
//! claims it, after which anything printed this way goes to stderr instead,
//! so no stray line can reach the client's JSON-RPC stream.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static PROTOCOL_OWNS_STDOUT: AtomicBool = AtomicBool::new(false);

/// From now on stdout carries protocol messages only (called by `client::stdout`).
pub fn stdout_is_protocol() {
    PROTOCOL_OWNS_STDOUT.store(true, Ordering::SeqCst);
}

/// Write `args` to stdout (to stderr once stdout is the protocol's). A
/// closed stdout ends the process with success; another write error ends
/// it with a message on stderr.
pub fn write(args: Arguments<'_>) {
    if PROTOCOL_OWNS_STDOUT.load(Ordering::SeqCst) {
        let _ = std::io::stderr().lock().write_fmt(args);
        return;
    }
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("mcp-bridge: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

/// `print!` for the commands for people; see [`console`](crate::console).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::console::write(format_args!($($arg)*)) };
}

/// `println!` for the commands for people; see [`console`](crate::console).
#[macro_export]
macro_rules! outln {
    () => { $crate::console::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `n` and the noun, plural unless `n` is 1: "1 tool", "3 tools".
pub fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}
