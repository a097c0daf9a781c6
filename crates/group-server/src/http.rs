//! The XCAP HTTP shell (its own listener, `xcap.listen`, apart from the admin server): reads
//! the body within `xcap.max_body_bytes`, finds the requester's identity, loads the document,
//! authorizes, asks [`crate::xcap::decide`], and stores the outcome compare-and-set on the ETag
//! (re-reading and re-deciding when another write got there first).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use corelab_log_throttle::Throttle;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{self, Access};
use crate::config::XcapSection;
use crate::error::{Conflict, XcapError};
use crate::metrics as m;
use crate::request_uri::{self, UriError};
use crate::store::{GroupStore, new_etag};
use crate::tree::Element;
use crate::xcap::{self, Current, Method, Outcome, Request};

/// Tries of one request against concurrent writers of the same document before giving up
/// (500): each lost try means another write succeeded, so this bounds only pathological churn.
const WRITE_TRIES: usize = 64;

pub struct Xcap {
    pub cfg: XcapSection,
    pub store: GroupStore,
    /// Refusals (4xx) are logged once per interval with their count, so a client sending
    /// garbage cannot make the log grow faster than it sends.
    refusals: Throttle,
}

impl Xcap {
    pub fn new(cfg: XcapSection, store: GroupStore) -> Xcap {
        Xcap {
            cfg,
            store,
            refusals: Throttle::default(),
        }
    }
}

/// Bind `xcap.listen`; returns the bound address and a future that serves until `shutdown`.
///
/// Our own accept loop rather than `axum::serve`, for two bounds a public listener needs: at
/// most `xcap.max_connections` connections at once (more are closed on accept, counted and
/// logged once per interval), and a request's headers must arrive within
/// `xcap.header_timeout_ms` (hyper's header read timeout, which also closes an idle keep-alive
/// connection). HTTP/1.1 only.
pub async fn serve(
    ctx: Arc<Xcap>,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()>)> {
    let listen = ctx.cfg.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("xcap.listen {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(handle).with_state(ctx.clone());
    let fut = async move {
        let permits = Arc::new(Semaphore::new(ctx.cfg.max_connections.max(1)));
        let header_timeout = Duration::from_millis(ctx.cfg.header_timeout_ms.max(1));
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    if let Some(n) = ctx.refusals.hit(Instant::now()) {
                        tracing::warn!(error = %e, since_last_line = n, "XCAP accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                metrics::counter!(m::CONNECTIONS_REFUSED).increment(1);
                if let Some(n) = ctx.refusals.hit(Instant::now()) {
                    tracing::warn!(%peer, max = ctx.cfg.max_connections, since_last_line = n, "XCAP connection refused: xcap.max_connections open");
                }
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            // The peer's address reaches `handle` as axum's ConnectInfo.
            let service =
                TowerToHyperService::new(app.clone().layer(axum::Extension(ConnectInfo(peer))));
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                let result = tokio::select! {
                    r = conn.as_mut() => r,
                    _ = shutdown.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "XCAP connection ended");
                }
            });
        }
        // Every connection holds a permit until it has ended (gracefully: its request answered).
        let all = u32::try_from(ctx.cfg.max_connections.max(1)).unwrap_or(u32::MAX);
        let _ = permits.acquire_many(all).await;
    };
    Ok((addr, fut))
}

async fn handle(
    State(ctx): State<Arc<Xcap>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = tracing::info_span!("xcap", %method, path = %uri.path(), %peer);
    let result = serve_one(&ctx, peer, &method, &uri, &headers, body)
        .instrument(span.clone())
        .await;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(parent: &span, status = e.status(), error = ?e, "XCAP request failed");
            } else if let Some(count) = ctx.refusals.hit(Instant::now()) {
                tracing::info!(parent: &span, status = e.status(), error = ?e, refusals_since_last_line = count, "XCAP request refused");
            }
            error_response(&e)
        }
    };
    metrics::counter!(m::XCAP_REQUESTS, "method" => method.as_str().to_string(), "status" => response.status().as_u16().to_string())
        .increment(1);
    response
}

async fn serve_one(
    ctx: &Xcap,
    peer: SocketAddr,
    method: &HttpMethod,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, XcapError> {
    let method = match *method {
        HttpMethod::GET => Method::Get,
        HttpMethod::PUT => Method::Put,
        HttpMethod::DELETE => Method::Delete,
        _ => return Err(XcapError::MethodNotAllowed),
    };
    let target =
        request_uri::parse(uri.path(), uri.query(), &ctx.cfg.root).map_err(|e| match e {
            UriError::NotFound(m) => XcapError::NotFound(m),
            UriError::Bad(m) => XcapError::BadRequest(m),
        })?;
    let body = read_body(
        headers,
        body,
        ctx.cfg.max_body_bytes,
        Duration::from_millis(ctx.cfg.body_timeout_ms),
    )
    .await?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let who = auth::identity(peer.ip(), auth::IDENTITY_HEADERS.map(text), &ctx.cfg);
    let content_type = text(header::CONTENT_TYPE.as_str()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let host = text(header::HOST.as_str()).unwrap_or("localhost");
    let document_uri = format!("http://{host}{}", target.document_path);
    let access = match method {
        Method::Get => Access::Read,
        _ => Access::Write,
    };
    let internal = |e: sqlx::Error| XcapError::Internal(format!("store: {e}"));
    for _ in 0..WRITE_TRIES {
        let stored = ctx.store.get(&target.xui).await.map_err(internal)?;
        auth::allows(
            who.as_deref(),
            access,
            stored.as_ref().map(|s| s.owner.as_str()),
            &ctx.cfg,
        )
        .map_err(XcapError::Forbidden)?;
        let current = match stored {
            Some(s) => Some(Current {
                root: Element::parse_document(s.document.as_bytes()).map_err(|e| {
                    XcapError::Internal(format!(
                        "stored document of {} unreadable: {e}",
                        target.xui
                    ))
                })?,
                text: s.document,
                etag: s.etag,
            }),
            None => None,
        };
        let req = Request {
            method,
            target: &target,
            content_type: content_type.as_deref(),
            body: &body,
            if_match: text(header::IF_MATCH.as_str()),
            if_none_match: text(header::IF_NONE_MATCH.as_str()),
            document_uri: &document_uri,
        };
        match xcap::decide(&req, current.as_ref())? {
            Outcome::Read {
                status,
                content_type,
                body,
                etag,
            } => {
                let mut r = if status == 304 {
                    StatusCode::NOT_MODIFIED.into_response()
                } else {
                    ([(header::CONTENT_TYPE, content_type)], body).into_response()
                };
                set_etag(&mut r, &etag);
                return Ok(r);
            }
            Outcome::Store {
                status,
                root,
                group,
            } => {
                if current.is_none() {
                    // A new document: the requester must be the owner it names.
                    auth::allows(who.as_deref(), Access::Write, Some(&group.owner), &ctx.cfg)
                        .map_err(XcapError::Forbidden)?;
                }
                let document = root.to_document();
                if document.len() > ctx.cfg.max_document_bytes {
                    return Err(XcapError::Conflict(Conflict::Constraint(format!(
                        "the document would exceed {} bytes",
                        ctx.cfg.max_document_bytes
                    ))));
                }
                let etag = new_etag();
                let done = match &current {
                    Some(cur) => ctx
                        .store
                        .replace(&target.xui, &group.owner, &document, &etag, &cur.etag)
                        .await
                        .map_err(internal)?,
                    None => ctx
                        .store
                        .create(&target.xui, &group.owner, &document, &etag)
                        .await
                        .map_err(internal)?,
                };
                if !done {
                    continue; // another write got there first: decide again on what it left
                }
                tracing::info!(group = %target.xui, status, members = group.members.len(), "group document stored");
                update_gauge(&ctx.store).await;
                let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let mut r = code.into_response();
                set_etag(&mut r, &etag);
                return Ok(r);
            }
            Outcome::DeleteDocument => {
                let Some(cur) = &current else {
                    return Err(XcapError::NotFound("no such document".into()));
                };
                if !ctx
                    .store
                    .delete(&target.xui, &cur.etag)
                    .await
                    .map_err(internal)?
                {
                    continue;
                }
                tracing::info!(group = %target.xui, "group document deleted");
                update_gauge(&ctx.store).await;
                return Ok(StatusCode::OK.into_response());
            }
        }
    }
    Err(XcapError::Internal(format!(
        "{} changed under {WRITE_TRIES} tries in a row",
        target.xui
    )))
}

async fn update_gauge(store: &GroupStore) {
    if let Ok(n) = store.count().await {
        metrics::gauge!(m::GROUPS).set(n as f64);
    }
}

/// The body, at most `limit` bytes (413 beyond: by Content-Length before reading, else while
/// reading), whole `within` (408 after: a trickle of bytes cannot hold a request open).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    within: Duration,
) -> Result<Vec<u8>, XcapError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(XcapError::PayloadTooLarge);
    }
    match tokio::time::timeout(within, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes.to_vec()),
        Ok(Err(_)) => Err(XcapError::PayloadTooLarge),
        Err(_) => Err(XcapError::RequestTimeout),
    }
}

fn set_etag(r: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
}

fn error_response(e: &XcapError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body) = e.body();
    let mut r = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if matches!(e, XcapError::MethodNotAllowed) {
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, PUT, DELETE"));
    }
    if matches!(e, XcapError::PayloadTooLarge | XcapError::RequestTimeout) {
        // The rest of an over-long body is not read: close rather than parse it as a request.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
