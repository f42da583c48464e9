//! One HTTP/1.1 connection: hyper's client connection, driven by the task
//! that uses it rather than by a task of its own.
//!
//! hyper's connection is a future that does the connection's reading and
//! writing; usually it is spawned, and each request and each piece of
//! body is handed to that task and back, a wake-up each way. Here whoever
//! holds the connection polls it: the request's task while it waits for the
//! response's head, then the response body ([`Body`]) while it is read. So
//! a piece that has arrived is read in the task that wants it, and the end
//! of a body that has arrived is seen at once. Framing, both ways, is
//! hyper's. Once its body has been read whole, the connection goes back to
//! where it came from ([`Release`]).

use super::stream::Stream;
use bytes::Bytes;
use http::Response;
use http_body::Frame;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

pub type Request = http::Request<Full<Bytes>>;

pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// hyper's side of the connection: polled, it reads and writes; None
    /// once it has ended. Boxed: it is large (its buffers' bookkeeping),
    /// and the connection moves from the pool to the request to the body
    /// and back.
    driver: Option<Box<Connection<TokioIo<Stream>, Full<Bytes>>>>,
}

impl Conn {
    /// A connection over `stream`, before any request.
    pub async fn open(stream: Stream) -> hyper::Result<Conn> {
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        Ok(Conn {
            sender,
            driver: Some(Box::new(driver)),
        })
    }

    /// Let hyper read and write what it can: false once the connection
    /// has ended (closed, or broken: a response waiting on it then has
    /// hyper's error).
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(driver) = self.driver.as_mut() else {
            return false;
        };
        match Pin::new(&mut **driver).poll(cx) {
            Poll::Pending => true,
            Poll::Ready(result) => {
                if let Err(e) = result {
                    tracing::debug!("loopback connection ended: {}", crate::redact::with_causes(&e));
                }
                self.driver = None;
                false
            }
        }
    }

    /// Whether an idle connection can carry another request: the server
    /// has not closed it (or sent anything) meanwhile, and hyper is ready
    /// for one.
    pub fn is_reusable(&mut self, cx: &mut Context<'_>) -> bool {
        self.drive(cx) && self.sender.is_ready()
    }

    /// Send `request` and wait for the response's head. The request comes
    /// back in the error when it never went out (the connection had
    /// closed).
    pub async fn send(&mut self, request: Request) -> Result<Response<Incoming>, TrySendError<Request>> {
        let mut response = pin!(self.sender.try_send_request(request));
        std::future::poll_fn(|cx| {
            // The connection first: what it reads is what the response
            // waits for. Once it has ended, the response has hyper's error.
            self.drive(cx);
            response.as_mut().poll(cx)
        })
        .await
    }
}

/// Where a connection goes once its response has been read whole.
pub trait Release: Send + 'static {
    fn release(&self, conn: Conn);
}

/// A response body, read by polling its connection. Read whole, the
/// connection goes to `release` (hyper lets go of one that is not to be
/// kept, which the pool then notices); dropped before, it is closed.
pub struct Body<R: Release> {
    incoming: Incoming,
    conn: Option<Conn>,
    release: R,
}

impl<R: Release> Body<R> {
    pub fn new(incoming: Incoming, conn: Conn, release: R) -> Body<R> {
        Body {
            incoming,
            conn: Some(conn),
            release,
        }
    }

    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.release.release(conn);
        }
    }
}

impl<R: Release + Unpin> http_body::Body for Body<R> {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<hyper::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.incoming).poll_frame(cx) {
            return this.frame(frame);
        }
        // Nothing received yet: let the connection read what has arrived,
        // then look again.
        let Some(conn) = this.conn.as_mut() else {
            return Poll::Pending;
        };
        if !conn.drive(cx) {
            // The connection ended; the body has had its end or its error.
            this.conn = None;
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(frame) => this.frame(frame),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.incoming)
    }
}

impl<R: Release> Body<R> {
    fn frame(&mut self, frame: Option<hyper::Result<Frame<Bytes>>>) -> Poll<Option<hyper::Result<Frame<Bytes>>>> {
        match &frame {
            None => self.finish(),
            Some(Err(_)) => self.conn = None,
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }
}

impl<R: Release> Drop for Body<R> {
    fn drop(&mut self) {
        // A body with nothing left to read (a 202's, or one whose last
        // piece has been taken) does not cost its connection.
        if http_body::Body::is_end_stream(&self.incoming) {
            self.finish();
        }
    }
}
