//! A request to the remote before it is sent either way: the method, URL,
//! headers and body, put together by the transports (`Ctx::build` and
//! builder-style `header` and `body`, as reqwest's are) and then written by
//! the loopback way as it is, or handed to reqwest.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

pub struct Outgoing {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The first header that could not be set (its value was not valid).
    invalid: Option<HeaderName>,
}

impl Outgoing {
    pub fn new(method: Method, url: Url, headers: HeaderMap) -> Outgoing {
        Outgoing {
            method,
            url,
            headers,
            body: Bytes::new(),
            invalid: None,
        }
    }

    /// Add header `name` (after any value it has, as reqwest's does).
    pub fn header<V: TryInto<HeaderValue>>(mut self, name: HeaderName, value: V) -> Outgoing {
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

    pub fn body(mut self, body: impl Into<Bytes>) -> Outgoing {
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
        let req = client.request(self.method, self.url).headers(self.headers);
        if with_body { req.body(self.body) } else { req }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_header_value_is_named_not_sent() {
        let url = Url::parse("http://127.0.0.1:1/mcp").unwrap();
        let out = Outgoing::new(Method::POST, url, HeaderMap::new())
            .header(http::header::ACCEPT, "text/event-stream")
            .header(HeaderName::from_static("mcp-name"), "bad\nvalue");
        assert_eq!(out.headers.len(), 1);
        let e = out.check().unwrap_err();
        assert!(e.contains("mcp-name"), "{e}");
    }
}
