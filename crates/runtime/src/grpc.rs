//! Serving a node's gRPC control service on its configured address.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

/// Bind the gRPC listener; returns the bound address and a future that serves `routes` until
/// `shutdown`.
pub async fn serve(
    listen: SocketAddr,
    routes: Routes,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()>)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("grpc.listen {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let fut = async move {
        if let Err(e) = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "gRPC server stopped");
        }
    };
    Ok((addr, fut))
}
