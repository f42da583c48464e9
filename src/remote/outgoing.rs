//! A request to the remote before it is sent either way: the method, URL,
//! headers and body, put together by the transports (`Authorized::build` and
//! builder-style `header` and `body`, as reqwest's are) and then moved into
//! hyper's request by the bridge's own connections (`pool`), or handed to
//! reqwest.
//!
//! The headers are the map either way sends, in the order set (a name may
//! come more than once), moved into the request that goes out, not copied;
//! the URL is the endpoint's own unless credentials add to its query (a
//! request is put together for every message).

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use std::borrow::Cow;
use url::Url;

pub struct Outgoing<'u> {
    pub method: Method,
    pub url: Cow<'u, Url>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The first header that could not be set (its value was not valid).
    invalid: Option<HeaderName>,
}

/// Room for the headers a message adds to the configured ones (the
/// credential's, the transport's), so the map is allocated once.
const USUAL_HEADERS: usize = 10;

impl<'u> Outgoing<'u> {
    pub fn new(method: Method, url: Cow<'u, Url>, base: &http::HeaderMap) -> Outgoing<'u> {
        let mut headers = base.clone();
        headers.reserve(USUAL_HEADERS);
        Outgoing {
            method,
            url,
            headers,
            body: Bytes::new(),
            invalid: None,
        }
    }

    /// Add header `name` (after any value it has, as reqwest's does).
    pub fn header<V: TryInto<HeaderValue>>(mut self, name: HeaderName, value: V) -> Outgoing<'u> {
        match value.try_into() {
            Ok(v) => {
                self.headers.append(name, v);
            }
            Err(_) => {
                self.invalid.get_or_insert(name);
            }
        }
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Outgoing<'u> {
        self.body = body.into();
        self
    }

    /// An error when a header could not be set, naming it.
    pub fn check(&self) -> Result<(), String> {
        match &self.invalid {
            None => Ok(()),
            Some(name) => Err(format!("the value for header `{name}` is not valid in HTTP")),
        }
    }

    /// The same request for reqwest's client.
    pub fn into_reqwest(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let with_body = !self.body.is_empty() || self.method == Method::POST;
        let req = client.request(self.method, self.url.into_owned()).headers(self.headers);
        if with_body { req.body(self.body) } else { req }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_header_value_is_named_not_sent() {
        let url = Url::parse("http://127.0.0.1:1/mcp").unwrap();
        let out = Outgoing::new(Method::POST, Cow::Owned(url), &http::HeaderMap::new())
            .header(http::header::ACCEPT, "text/event-stream")
            .header(HeaderName::from_static("mcp-name"), "bad\nvalue");
        assert_eq!(out.headers.len(), 1);
        let e = out.check().unwrap_err();
        assert!(e.contains("mcp-name"), "{e}");
    }
}
