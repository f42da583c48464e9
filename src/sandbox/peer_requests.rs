//! The `ask_user` (elicitation) and `sample_llm` (sampling) tools: input
//! the sandbox needs from the client, in either protocol era.
//!
//! - A legacy request (the session began with `initialize`): the sandbox
//!   sends the client `elicitation/create` or `sampling/createMessage` in
//!   the middle of the call and waits for the answer.
//! - A modern request (2026-07-28, `_meta` on each request): there is no
//!   back channel. The first call answers `resultType: "input_required"`
//!   with the request under the key `input`; the client retries the call
//!   with its answer in `inputResponses`, and that call completes.
//!
//! A missing client capability, a refusal or a transport failure becomes an
//! `isError: true` result with an explanation rather than a protocol error.

use rmcp::RoleServer;
#[allow(deprecated)] // sampling is deprecated by SEP-2577 but still in use
use rmcp::model::CreateMessageResult;
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientResult, ContentBlock, ElicitRequest, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationSchema, InputRequest, InputRequiredResult, InputResponses, ServerRequest,
};
use rmcp::service::RequestContext;
use serde_json::json;

use super::results::tool_error;

/// The key of the sandbox's one input request in `inputRequests`.
const INPUT: &str = "input";

/// Whether the request came in the modern era: it says its protocol
/// version in `_meta`, and the answer to a question comes by retry.
fn modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.meta.protocol_version().is_some()
}

/// Which optional capabilities the client declared (in `initialize`, or
/// in a modern request's `_meta`).
fn client_declares(ctx: &RequestContext<RoleServer>, sampling: bool) -> bool {
    ctx.client_capabilities().is_some_and(|caps| {
        if sampling {
            caps.sampling.is_some()
        } else {
            caps.elicitation.is_some()
        }
    })
}

/// The answer the client gave in a retry, read as `T`.
fn answered<T: serde::de::DeserializeOwned>(responses: &Option<InputResponses>) -> Option<Result<T, String>> {
    let value = responses.as_ref()?.get(INPUT)?;
    Some(serde_json::from_value(value.clone()).map_err(|e| e.to_string()))
}

/// Asks `question` with a one-field form (`answer: string`).
pub(crate) async fn ask_user(
    ctx: &RequestContext<RoleServer>,
    responses: Option<InputResponses>,
    question: String,
) -> CallToolResponse {
    if !client_declares(ctx, false) {
        return tool_error(
            "ask_user needs the client to support elicitation, \
             but it did not declare the elicitation capability",
        )
        .into();
    }
    let schema = match ElicitationSchema::builder()
        .required_string_property("answer", |s| s.title("Your answer"))
        .build()
    {
        Ok(schema) => schema,
        Err(e) => return tool_error(format!("internal error building schema: {e}")).into(),
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question.clone(),
        requested_schema: schema,
    };
    let request = ElicitRequest::new(params);
    let result = if modern(ctx) {
        match answered::<ElicitResult>(&responses) {
            None => return input_required(InputRequest::Elicitation(request)),
            Some(Ok(result)) => result,
            Some(Err(e)) => {
                return tool_error(format!("the answer to the question is not an elicitation result: {e}")).into();
            }
        }
    } else {
        match ctx.peer.send_request(ServerRequest::ElicitRequest(request)).await {
            Ok(ClientResult::ElicitResult(result)) => result,
            Ok(other) => return tool_error(format!("unexpected reply to elicitation: {other:?}")).into(),
            Err(e) => return tool_error(format!("elicitation failed: {e}")).into(),
        }
    };
    answer_result(question, &result).into()
}

/// The tool's result for the person's answer to `question`.
fn answer_result(question: String, result: &ElicitResult) -> CallToolResult {
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

/// Asks the client's model to answer `prompt` as one user message.
#[allow(deprecated)] // sampling is deprecated by SEP-2577 but still in use
pub(crate) async fn sample(
    ctx: &RequestContext<RoleServer>,
    responses: Option<InputResponses>,
    prompt: String,
    max_tokens: u32,
) -> CallToolResponse {
    use rmcp::model::{CreateMessageRequest, CreateMessageRequestParams, SamplingMessage};

    if !client_declares(ctx, true) {
        return tool_error(
            "sample_llm needs the client to support sampling, \
             but it did not declare the sampling capability",
        )
        .into();
    }
    let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], max_tokens);
    let request = CreateMessageRequest::new(params);
    let result = if modern(ctx) {
        match answered::<CreateMessageResult>(&responses) {
            None => return input_required(InputRequest::CreateMessage(request)),
            Some(Ok(result)) => result,
            Some(Err(e)) => return tool_error(format!("the model's answer is not a sampling result: {e}")).into(),
        }
    } else {
        match ctx
            .peer
            .send_request(ServerRequest::CreateMessageRequest(request))
            .await
        {
            Ok(ClientResult::CreateMessageResult(result)) => *result,
            Ok(other) => return tool_error(format!("unexpected reply to sampling: {other:?}")).into(),
            Err(e) => return tool_error(format!("sampling failed: {e}")).into(),
        }
    };
    let text: Vec<String> = result
        .message
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.clone()))
        .collect();
    if text.is_empty() {
        return tool_error("the model's reply contained no text").into();
    }
    let text = text.join("\n");
    let mut out = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
    out.structured_content = Some(json!({ "model": result.model, "text": text }));
    out.into()
}

/// The modern era's way to ask: an `input_required` result.
fn input_required(request: InputRequest) -> CallToolResponse {
    let mut requests = rmcp::model::InputRequests::new();
    requests.insert(INPUT.to_string(), request);
    InputRequiredResult::from_input_requests(requests).into()
}
