//! Server→client requests made by the `ask_user` (elicitation/create) and
//! `sample_llm` (sampling/createMessage) tools, turned into tool results.
//! A missing client capability, a refusal or a transport failure becomes an
//! `isError: true` result with an explanation rather than a protocol error.

use rmcp::model::{
    CallToolResult, ClientResult, ContentBlock, ElicitRequest, ElicitRequestParams, ElicitationAction,
    ElicitationSchema, ServerRequest,
};
use rmcp::{Peer, RoleServer};
use serde_json::json;

/// Which optional capabilities the client declared in `initialize`.
fn client_declares(peer: &Peer<RoleServer>, sampling: bool) -> bool {
    peer.peer_info().is_some_and(|info| {
        if sampling {
            info.capabilities.sampling.is_some()
        } else {
            info.capabilities.elicitation.is_some()
        }
    })
}

/// Sends `elicitation/create` with a one-field form (`answer: string`).
pub(crate) async fn ask_user(peer: &Peer<RoleServer>, question: String) -> CallToolResult {
    if !client_declares(peer, false) {
        return tool_error(
            "ask_user needs the client to support elicitation, \
             but it did not declare the elicitation capability",
        );
    }
    let schema = match ElicitationSchema::builder()
        .required_string_property("answer", |s| s.title("Your answer"))
        .build()
    {
        Ok(schema) => schema,
        Err(e) => return tool_error(format!("internal error building schema: {e}")),
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question.clone(),
        requested_schema: schema,
    };
    let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
    let result = match peer.send_request(request).await {
        Ok(ClientResult::ElicitResult(result)) => result,
        Ok(other) => return tool_error(format!("unexpected reply to elicitation: {other:?}")),
        Err(e) => return tool_error(format!("elicitation failed: {e}")),
    };
    let answer = result
        .content
        .as_ref()
        .and_then(|c| c.get("answer"))
        .and_then(|a| a.as_str())
        .map(str::to_owned);
    let (action, mut out) = match (&result.action, &answer) {
        (ElicitationAction::Accept, Some(answer)) => (
            "accept",
            CallToolResult::success(vec![ContentBlock::text(format!("The user answered: {answer}"))]),
        ),
        (ElicitationAction::Accept, None) => ("accept", tool_error("The user accepted but sent no 'answer' string.")),
        (ElicitationAction::Decline, _) => ("decline", tool_error("The user declined to answer.")),
        (ElicitationAction::Cancel, _) => ("cancel", tool_error("The user cancelled the question.")),
        _ => ("unknown", tool_error("The user gave an unknown elicitation response.")),
    };
    out.structured_content = Some(json!({ "question": question, "action": action, "answer": answer }));
    out
}

/// Sends `sampling/createMessage` with the prompt as one user message.
#[allow(deprecated)] // sampling is deprecated by SEP-2577 but still in use
pub(crate) async fn sample(peer: &Peer<RoleServer>, prompt: String, max_tokens: u32) -> CallToolResult {
    use rmcp::model::{CreateMessageRequest, CreateMessageRequestParams, SamplingMessage};

    if !client_declares(peer, true) {
        return tool_error(
            "sample_llm needs the client to support sampling, \
             but it did not declare the sampling capability",
        );
    }
    let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], max_tokens);
    let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
    let result = match peer.send_request(request).await {
        Ok(ClientResult::CreateMessageResult(result)) => result,
        Ok(other) => return tool_error(format!("unexpected reply to sampling: {other:?}")),
        Err(e) => return tool_error(format!("sampling failed: {e}")),
    };
    let text: Vec<String> = result
        .message
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.clone()))
        .collect();
    if text.is_empty() {
        return tool_error("the model's reply contained no text");
    }
    let text = text.join("\n");
    let mut out = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
    out.structured_content = Some(json!({ "model": result.model, "text": text }));
    out
}

/// A tool-level error result (`isError: true`) with one text block.
pub(crate) fn tool_error(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}
