//! One server served on stdio: each of the client's messages goes to the
//! server's `Remote` untouched, as the client's own text (`Message`), with
//! the server's hooks (`hooks::Hook`: the sign-in gate, a provider's
//! follow-ups) around it. The loop that feeds it, and the stop, are
//! `shutdown`'s; `Refusal` serves nothing but an explanation.

use crate::client::{Outbox, spawn_writer};
use crate::hooks::{Hook, Upstream};
use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use crate::remote::Remote;
use crate::shutdown::{self, Served};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;

/// The longest the relay waits for one notification or response to be
/// accepted by the remote before reading on.
const SEND_LIMIT: Duration = Duration::from_secs(30);

/// One server's relay.
pub struct Relay {
    remote: Arc<Remote>,
    out: Outbox,
    hooks: Option<Arc<dyn Hook>>,
}

impl Relay {
    /// The relay to `remote`, its hooks bound to it and to `out`.
    pub fn new(remote: Arc<Remote>, out: Outbox, hooks: Option<Arc<dyn Hook>>) -> Arc<Relay> {
        if let Some(h) = &hooks {
            let upstream: Arc<dyn Upstream> = remote.clone();
            h.bind(&upstream, &out);
        }
        // Hooks look at results: the remote then returns each response too.
        remote.keep_responses(hooks.is_some());
        Arc::new(Relay { remote, out, hooks })
    }

    /// Relay a request and run the hooks on its answer.
    async fn request(&self, msg: &Message) {
        let resp = self.remote.request(msg).await;
        if let (Some(h), Some(r)) = (&self.hooks, resp) {
            h.after_response(msg.value(), &r, &self.out);
        }
    }

    /// Relay a notification or response, in order.
    async fn send(&self, msg: Message) {
        if msg.kind() == Kind::Notification
            && msg.method() == Some("notifications/cancelled")
            && let Some(id) = msg.request_id()
        {
            self.remote.cancelled(id);
        }
        if tokio::time::timeout(SEND_LIMIT, self.remote.send(msg)).await.is_err() {
            tracing::warn!(
                "server `{}` took over {SEND_LIMIT:?} to accept a message",
                self.remote.server()
            );
        }
    }
}

impl Served for Relay {
    fn max_message_size(&self) -> usize {
        self.remote.max_message_size()
    }

    /// Hooks and the handshake read the whole tree.
    fn needs_tree(&self, msg: &Message) -> bool {
        self.hooks.is_some() || msg.method() == Some("initialize")
    }

    fn takes_over(&self, msg: &Message) -> bool {
        self.hooks.as_ref().is_some_and(|h| h.takes_over(msg.value()))
    }

    fn on_initialize(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let me = self.clone();
        async move { Box::pin(me.request(&msg)).await }
    }

    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let me = self.clone();
        // Boxed: the request's future is large, and a task holding it
        // inline is copied whole when spawned.
        async move { Box::pin(me.request(&msg)).await }
    }

    fn on_notification(&self, msg: Message) -> impl Future<Output = ()> + Send {
        self.send(msg)
    }

    fn on_response(&self, msg: Message) -> impl Future<Output = ()> + Send {
        self.send(msg)
    }

    fn client_gone(&self) -> impl Future<Output = ()> + Send {
        self.remote.client_gone()
    }

    fn stop_waiting(&self) {
        self.remote.stop_waiting();
    }

    fn close(&self) -> impl Future<Output = ()> + Send {
        self.remote.close()
    }
}

/// Serve nothing but an explanation: answer every request with `why` (the
/// bridge could not start, e.g. a config error) until stdin closes, so the
/// desktop client shows the person what to fix.
pub async fn refuse_all(
    input: impl AsyncRead + Unpin,
    output: impl tokio::io::AsyncWrite + Unpin + Send + 'static,
    why: &str,
) {
    let (out, rx) = Outbox::channel();
    let writer = spawn_writer(rx, output);
    let refusal = Arc::new(Refusal {
        why: why.to_string(),
        out: out.clone(),
    });
    shutdown::serve_until_stopped(input, refusal, &out, writer).await;
}

/// Every request answered with why the bridge cannot serve.
struct Refusal {
    why: String,
    out: Outbox,
}

impl Refusal {
    fn refuse(&self, msg: &Message) {
        let answer = jsonrpc::error(msg.id().clone(), jsonrpc::INTERNAL_ERROR, self.why.as_str(), None);
        let _ = self.out.send(answer);
    }
}

impl Served for Refusal {
    fn needs_tree(&self, _msg: &Message) -> bool {
        false
    }

    fn on_initialize(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        self.refuse(&msg);
        std::future::ready(())
    }

    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        self.refuse(&msg);
        std::future::ready(())
    }

    fn on_notification(&self, _msg: Message) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    fn on_response(&self, _msg: Message) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    fn client_gone(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    fn stop_waiting(&self) {}

    fn close(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}
