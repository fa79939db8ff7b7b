//! The controller's HTTP endpoints, on NAuth's addresses: `/healthz` and `/readyz` on
//! `--health-probe-bind-address`, `/metrics` on `--metrics-bind-address` (one listener when
//! both name the same address). Plain HTTP/1.1 on hyper, which kube's client already brings.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::controller::Context;

/// Which paths a listener serves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Routes {
    probes: bool,
    metrics: bool,
}

/// Binds one listener per distinct address (`None`: that endpoint is off), logging each
/// listener's actual address (port 0 picks a free one).
pub(crate) async fn bind(
    probes: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
) -> std::io::Result<Vec<(TcpListener, Routes)>> {
    let mut wanted: Vec<(SocketAddr, Routes)> = Vec::new();
    for (address, set) in [
        (
            probes,
            Routes {
                probes: true,
                metrics: false,
            },
        ),
        (
            metrics,
            Routes {
                probes: false,
                metrics: true,
            },
        ),
    ] {
        let Some(address) = address else { continue };
        match wanted
            .iter_mut()
            .find(|(a, _)| *a == address && address.port() != 0)
        {
            Some((_, routes)) => {
                routes.probes |= set.probes;
                routes.metrics |= set.metrics;
            }
            None => wanted.push((address, set)),
        }
    }
    let mut bound = Vec::new();
    for (address, routes) in wanted {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("listening on {address}: {e}")))?;
        let local = listener.local_addr()?;
        if routes.probes {
            tracing::info!(address = %local, "serving /healthz and /readyz");
        }
        if routes.metrics {
            tracing::info!(address = %local, "serving /metrics");
        }
        bound.push((listener, routes));
    }
    Ok(bound)
}

/// Serves each listener in its own task, for the life of the process.
pub(crate) fn serve(listeners: Vec<(TcpListener, Routes)>, cx: Arc<Context>) {
    for (listener, routes) in listeners {
        let cx = cx.clone();
        tokio::spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting an HTTP connection");
                        continue;
                    }
                };
                let cx = cx.clone();
                tokio::spawn(async move {
                    let service = service_fn(|req| respond(req, routes, cx.clone()));
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(error = %e, "HTTP connection");
                    }
                });
            }
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    routes: Routes,
    cx: Arc<Context>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = "text/plain; charset=utf-8";
    let (status, content_type, body) = match req.uri().path() {
        "/healthz" if routes.probes => (StatusCode::OK, text, "ok\n".to_string()),
        "/readyz" if routes.probes => match cx.readiness() {
            Ok(()) => (StatusCode::OK, text, "ok\n".to_string()),
            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, text, format!("{why}\n")),
        },
        "/metrics" if routes.metrics => (
            StatusCode::OK,
            crate::metrics::CONTENT_TYPE,
            crate::metrics::encode(),
        ),
        _ => (StatusCode::NOT_FOUND, text, "not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    (response.headers_mut()).insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    Ok(response)
}
