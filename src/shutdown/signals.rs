//! The process's stop signals, as the stop sees them: SIGTERM and SIGINT
//! on Unix, Ctrl-C on Windows (which has no SIGTERM). Every signal is
//! reported, not only the first: the second one during a stop exits at once.

use tokio::sync::mpsc;

/// The watch for SIGTERM and SIGINT (Ctrl-C on Windows), kept by a task of
/// its own: the signal streams cost more to poll at every line than a
/// channel does. Every signal is reported, not only the first.
pub struct Signals {
    told: mpsc::UnboundedReceiver<()>,
}

impl Signals {
    /// Start watching (inside the runtime).
    pub fn watch() -> Signals {
        let (tell, told) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut incoming = Incoming::new();
            loop {
                tokio::select! {
                    () = incoming.next() => {
                        if tell.send(()).is_err() {
                            return;
                        }
                    }
                    () = tell.closed() => return,
                }
            }
        });
        Signals { told }
    }

    /// Resolves at the next signal; never, once the watch ended without one
    /// (the runtime is ending). Cancel safe.
    pub async fn next(&mut self) {
        if self.told.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// The process's stop signals, as a stream.
struct Incoming {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Incoming {
    fn new() -> Incoming {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                (Ok(term), Ok(int)) => Some((term, int)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::debug!("cannot watch SIGTERM and SIGINT ({e}); watching Ctrl-C only");
                    None
                }
            };
            Incoming { streams }
        }
        #[cfg(not(unix))]
        Incoming {}
    }

    /// Resolves at the next signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.streams {
            let got = tokio::select! {
                got = term.recv() => got,
                got = int.recv() => got,
            };
            if got.is_none() {
                std::future::pending::<()>().await;
            }
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
