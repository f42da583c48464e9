//! The shapes of the sandbox tools' results, shared by every tool.

use rmcp::model::{CallToolResult, ContentBlock};

/// A tool-level error result (`isError: true`) with one text block.
pub(crate) fn tool_error(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// A result with one text block and the same facts as structured content.
pub(crate) fn text_and_structured(text: String, structured: serde_json::Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}
