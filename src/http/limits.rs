//! Limits on connections and slow clients. actix bounds how long the head
//! of a connection's first request may take (answered `408`), how long an
//! idle keep-alive connection stays, and how many connections a worker
//! holds. What it leaves open is covered here:
//!
//! - a deadline for a request's body: a client that trickles it, or stops
//!   half-way, gets `408` and the connection is closed;
//! - a watchdog per connection: actix times the head of a connection's
//!   *first* request only, so a client could send one request and then
//!   trickle the next one's head forever. A connection that has been
//!   between requests longer than keep-alive plus the header timeout is
//!   shut (no answer can be sent mid-head). The same bound cuts a client
//!   that leaves its response unread.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::AsFd;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::rt::time::{Instant, Sleep, sleep, timeout};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_core::Stream;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::Notify;

use crate::scim::ScimError;

/// How long clients may take and how many connections they may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// For the head of a connection's first request (actix's
    /// `client_request_timeout`); over it, `408`.
    pub header_timeout: Duration,
    /// For a request's whole body, from its head; over it, `408`.
    pub body_timeout: Duration,
    /// How long an idle connection is kept open for a next request (zero:
    /// one request per connection).
    pub keep_alive: Duration,
    /// How long a client gets to close its side once we close ours.
    pub disconnect_timeout: Duration,
    /// Open connections per worker; beyond them new connections wait in
    /// the listen backlog until one closes.
    pub max_connections: usize,
    /// Connections the kernel queues before they are accepted (capped by
    /// `net.core.somaxconn`).
    pub backlog: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(5),
            disconnect_timeout: Duration::from_secs(1),
            max_connections: 256,
            backlog: 1024,
        }
    }
}

impl ConnectionLimits {
    /// How long a connection may be between requests: idle for keep-alive,
    /// then the header timeout for the next head.
    pub fn idle_allowance(&self) -> Duration {
        self.keep_alive + self.header_timeout
    }
}

/// A listening socket on the first address of `bind` that takes one, with
/// our backlog (std's `TcpListener::bind` fixes it at 128).
pub fn listen(bind: &str, backlog: u32) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in bind.to_socket_addrs()? {
        match listen_on(addr, backlog) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("the address resolved to nothing")))
}

fn listen_on(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std does: a restart need not wait for old connections' TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// One connection as its watchdog and its requests see it.
struct Watched {
    /// A second handle on the socket, used only to shut it.
    socket: std::net::TcpStream,
    /// Requests on this connection being handled now.
    busy: Cell<usize>,
    /// When the last request was answered (or the connection opened).
    idle_since: Cell<Instant>,
    /// Tells the watchdog the connection is gone, so it ends at once.
    ended: Arc<Notify>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.ended.notify_one();
    }
}

/// Marks a request in progress on its connection until dropped (also when
/// the client goes away and the request is dropped unfinished).
struct Busy(Rc<Watched>);

impl Busy {
    fn enter(watched: &Rc<Watched>) -> Busy {
        watched.busy.set(watched.busy.get() + 1);
        Busy(watched.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let busy = self.0.busy.get().saturating_sub(1);
        self.0.busy.set(busy);
        if busy == 0 {
            self.0.idle_since.set(Instant::now());
        }
    }
}

/// `HttpServer::on_connect`: puts each new connection under a watchdog.
pub fn watch_connection(
    allowance: Duration,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    move |io, extensions| {
        let stream = match io.downcast_ref::<TcpStream>() {
            Some(plain) => plain,
            None => match io.downcast_ref::<TlsStream<TcpStream>>() {
                Some(tls) => tls.get_ref().0,
                None => return,
            },
        };
        let socket = match stream.as_fd().try_clone_to_owned() {
            Ok(fd) => std::net::TcpStream::from(fd),
            Err(error) => {
                // Out of descriptors: the connection is served, unwatched.
                tracing::warn!(%error, "cannot watch a new connection");
                return;
            }
        };
        let ended = Arc::new(Notify::new());
        let watched = Rc::new(Watched {
            socket,
            busy: Cell::new(0),
            idle_since: Cell::new(Instant::now()),
            ended: ended.clone(),
        });
        actix_web::rt::spawn(watchdog(Rc::downgrade(&watched), ended, allowance));
        extensions.insert(watched);
    }
}

/// Shuts the connection once it has been between requests longer than
/// `allowance`; ends with the connection.
async fn watchdog(watched: Weak<Watched>, ended: Arc<Notify>, allowance: Duration) {
    loop {
        let deadline = match watched.upgrade() {
            None => return,
            Some(conn) if conn.busy.get() > 0 => Instant::now() + allowance,
            Some(conn) => conn.idle_since.get() + allowance,
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        if timeout(wait, ended.notified()).await.is_ok() {
            return;
        }
        let Some(conn) = watched.upgrade() else {
            return;
        };
        if conn.busy.get() == 0 && conn.idle_since.get() + allowance <= Instant::now() {
            tracing::debug!("closing a connection stuck between requests");
            let _ = conn.socket.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// A request body that must have arrived by a deadline.
struct BodyDeadline {
    inner: Payload,
    deadline: Pin<Box<Sleep>>,
    timed_out: Rc<Cell<bool>>,
    /// The whole body arrived: the deadline no longer matters.
    done: bool,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done || this.timed_out.get() {
            return Poll::Ready(None);
        }
        // The deadline first: a trickle always has a byte ready.
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body took too long",
            )))));
        }
        let next = Pin::new(&mut this.inner).poll_next(cx);
        this.done = matches!(next, Poll::Ready(None));
        next
    }
}

/// Middleware: marks the request busy on its connection (see the watchdog)
/// and holds its body to `body_timeout`; a body late past it is answered
/// `408`, and the connection closed, since the rest of the body would
/// still be on its way.
pub async fn guard<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
    body_timeout: Duration,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let _busy = req.conn_data::<Rc<Watched>>().map(Busy::enter);
    let timed_out = Rc::new(Cell::new(false));
    match req.take_payload() {
        Payload::None => {}
        inner => req.set_payload(Payload::Stream {
            payload: Box::pin(BodyDeadline {
                inner,
                deadline: Box::pin(sleep(body_timeout)),
                timed_out: timed_out.clone(),
                done: false,
            }),
        }),
    }
    let response = next.call(req).await?;
    if !timed_out.get() {
        return Ok(response.map_into_left_body());
    }
    let (req, _) = response.into_parts();
    let mut late = HttpResponse::from_error(ScimError::RequestTimeout(format!(
        "the request body did not arrive within {} s",
        body_timeout.as_secs_f64()
    )));
    late.head_mut().set_connection_type(ConnectionType::Close);
    Ok(ServiceResponse::new(req, late).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_with_the_backlog_on_the_first_usable_address() {
        let listener = listen("127.0.0.1:0", 7).unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
        let taken = listener.local_addr().unwrap().to_string();
        assert!(listen(&taken, 7).is_err(), "the port is in use");
        assert!(listen("no-such-host.invalid:80", 7).is_err());
    }
}
