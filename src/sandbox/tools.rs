//! The sandbox's MCP server handler: the tools of a fake chat app
//! (`chat_*`) plus tools that exercise transport features (`slow_echo`,
//! `big_result`, `progress_demo`, `ask_user`, `sample_llm`). One handler is created per
//! session; the chat state behind it is shared.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::tool::InputResponses;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CacheScope, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult, ErrorData, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProtocolVersion, ServerCapabilities,
    ServerConfig, SubscriptionFilter,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::chat::ChatState;
use super::peer_requests;
use super::results::{text_and_structured, tool_error};

/// The protocol revisions a sandbox speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revisions {
    /// Both eras: `initialize` and sessions, or `server/discover` and `_meta`.
    #[default]
    Both,
    /// 2026-07-28 alone, as a hosted server that moved on: a 2025 client
    /// is refused, and reaches it only through the bridge's translation.
    ModernOnly,
}

/// The `serverInfo.name` the sandbox reports.
pub const SERVER_NAME: &str = "mcp-bridge-sandbox";

/// Upper bound for `delay_ms` arguments, so a typo cannot hang a test.
const MAX_DELAY_MS: u64 = 60_000;
/// How long a 2026-07-28 client may keep the tool list and the discover
/// result (`ttlMs`).
const KEEP_FOR_MS: u64 = 3_600_000;

/// Upper bound for `big_result`.
const MAX_BIG_RESULT: usize = 128 << 20;

const INSTRUCTIONS: &str = "Sandbox integration provider emulating a hosted chat app. \
Use chat_list_channels to see channels, chat_send_message to post and \
chat_read_messages to read. slow_echo, big_result, progress_demo, ask_user and sample_llm \
exist to exercise the transport.";

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendMessageArgs {
    /// Channel name, e.g. "general" (a leading '#' is ignored).
    pub channel: String,
    /// The message text to post.
    pub text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadMessagesArgs {
    /// Channel name, e.g. "general" (a leading '#' is ignored).
    pub channel: String,
    /// Return only the most recent N messages.
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SlowEchoArgs {
    /// Text to echo back.
    pub text: String,
    /// Milliseconds to wait before answering (capped at 60000).
    #[serde(default)]
    pub delay_ms: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct BigResultArgs {
    /// Size of the text block to return, in bytes (capped at 128 MiB).
    pub bytes: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProgressArgs {
    /// Number of progress notifications to send (capped at 100).
    pub steps: u32,
    /// Milliseconds between steps (default 50, capped at 60000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AskUserArgs {
    /// The question to put to the user.
    pub question: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SampleLlmArgs {
    /// The prompt to send to the client's model.
    pub prompt: String,
    /// Maximum tokens for the completion (default 256).
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// Sleeps for `ms` (capped) unless the request is cancelled first; returns
/// false on cancellation.
async fn sleep_unless_cancelled(ctx: &RequestContext<RoleServer>, ms: u64) -> bool {
    if ms == 0 {
        // tokio's timer would still wait for its next 1 ms tick.
        return !ctx.ct.is_cancelled();
    }
    let sleep = tokio::time::sleep(Duration::from_millis(ms.min(MAX_DELAY_MS)));
    tokio::select! {
        () = sleep => true,
        () = ctx.ct.cancelled() => false,
    }
}

/// The per-session MCP handler.
#[derive(Clone)]
pub struct SandboxServer {
    chat: Arc<ChatState>,
    revisions: Revisions,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl SandboxServer {
    pub fn new(chat: Arc<ChatState>, revisions: Revisions) -> Self {
        Self {
            chat,
            revisions,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "List the channels of the chat workspace.")]
    async fn chat_list_channels(&self) -> CallToolResult {
        let channels = self.chat.channels();
        let text = channels
            .iter()
            .map(|c| {
                format!(
                    "#{} ({}): {}",
                    c.name,
                    crate::console::plural(c.message_count, "message"),
                    c.topic
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        text_and_structured(text, json!({ "channels": channels }))
    }

    #[tool(description = "Post a message to a chat channel. Returns the new message id.")]
    async fn chat_send_message(&self, Parameters(args): Parameters<SendMessageArgs>) -> CallToolResult {
        match self.chat.post(&args.channel, "sandbox-user", &args.text) {
            Ok(message) => text_and_structured(
                format!("Message {} posted to #{}.", message.id, message.channel),
                json!({ "message_id": message.id, "channel": message.channel }),
            ),
            Err(e) => tool_error(format!(
                "Cannot post: {e}. Known channels: {}.",
                self.chat.channel_names().join(", ")
            )),
        }
    }

    #[tool(description = "Read the messages of a chat channel, oldest first.")]
    async fn chat_read_messages(&self, Parameters(args): Parameters<ReadMessagesArgs>) -> CallToolResult {
        match self.chat.read(&args.channel, args.limit) {
            Ok(messages) => {
                let text = if messages.is_empty() {
                    format!("No messages in #{}.", args.channel.trim_start_matches('#'))
                } else {
                    messages
                        .iter()
                        .map(|m| format!("[{}] {}: {}", m.id, m.author, m.text))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                text_and_structured(text, json!({ "messages": messages }))
            }
            Err(e) => tool_error(format!(
                "Cannot read: {e}. Known channels: {}.",
                self.chat.channel_names().join(", ")
            )),
        }
    }

    #[tool(description = "Wait delay_ms milliseconds, then echo the text back.")]
    async fn slow_echo(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<SlowEchoArgs>,
    ) -> CallToolResult {
        if !sleep_unless_cancelled(&ctx, args.delay_ms).await {
            return tool_error("slow_echo cancelled");
        }
        CallToolResult::success(vec![ContentBlock::text(args.text)])
    }

    #[tool(description = "Return one text block of exactly `bytes` bytes (for load and size tests).")]
    async fn big_result(&self, Parameters(args): Parameters<BigResultArgs>) -> CallToolResult {
        let text = "x".repeat(args.bytes.min(MAX_BIG_RESULT));
        CallToolResult::success(vec![ContentBlock::text(text)])
    }

    #[tool(description = "Send one notifications/progress per step (needs a progressToken in _meta), then finish.")]
    async fn progress_demo(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(args): Parameters<ProgressArgs>,
    ) -> CallToolResult {
        let steps = args.steps.min(100);
        let delay = args.delay_ms.unwrap_or(50);
        let token = ctx.meta.get_progress_token();
        for step in 1..=steps {
            if !sleep_unless_cancelled(&ctx, delay).await {
                return tool_error(format!("progress_demo cancelled after {} steps", step - 1));
            }
            if let Some(token) = &token {
                let param = ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_total(f64::from(steps))
                    .with_message(format!("step {step}/{steps}"));
                if let Err(e) = ctx.peer.notify_progress(param).await {
                    return tool_error(format!("could not send progress: {e}"));
                }
            }
        }
        let text = match token {
            Some(_) => format!("Completed {steps} steps."),
            None => format!("Completed {steps} steps (no progressToken, so no notifications)."),
        };
        text_and_structured(text, json!({ "steps": steps }))
    }

    #[tool(description = "Ask the user a question (elicitation/create) and return the answer.")]
    async fn ask_user(
        &self,
        ctx: RequestContext<RoleServer>,
        InputResponses(responses): InputResponses,
        Parameters(args): Parameters<AskUserArgs>,
    ) -> CallToolResponse {
        peer_requests::ask_user(&ctx, responses, args.question).await
    }

    #[tool(description = "Ask the client's LLM (sampling/createMessage) and return its reply.")]
    async fn sample_llm(
        &self,
        ctx: RequestContext<RoleServer>,
        InputResponses(responses): InputResponses,
        Parameters(args): Parameters<SampleLlmArgs>,
    ) -> CallToolResponse {
        peer_requests::sample(&ctx, responses, args.prompt, args.max_tokens.unwrap_or(256)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SandboxServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    /// The tools, and for a 2026-07-28 client how long it may keep them:
    /// the sandbox's tools never change while it runs, so an hour (rmcp's
    /// own answer says 0, to be asked again every time), the same for
    /// everyone.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let result = ListToolsResult::with_all_items(self.tool_router.list_all());
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        Ok(if modern {
            result.with_ttl_ms(KEEP_FOR_MS).with_cache_scope(CacheScope::Public)
        } else {
            result
        })
    }

    /// What the sandbox is, for a 2026-07-28 client: like its tools, the
    /// same for an hour and for everyone (rmcp's own answer says 0).
    async fn discover(&self, _context: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let versions = self.supported_protocol_versions().into_owned();
        Ok(DiscoverResult::from_server_info(versions, self.get_info())
            .with_ttl_ms(KEEP_FOR_MS)
            .with_cache_scope(CacheScope::Public))
    }

    /// Every revision rmcp knows, or 2026-07-28 alone (`initialize`
    /// refused, `server/discover` naming no 2025 revision).
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        match self.revisions {
            Revisions::Both => Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS),
            Revisions::ModernOnly => Cow::Borrowed(&[ProtocolVersion::V_2026_07_28]),
        }
    }

    /// A 2026-07-28 client's `subscriptions/listen`: accepted for what it
    /// asks of what the sandbox announces (the tool list), and held open
    /// until the client goes.
    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }
}
