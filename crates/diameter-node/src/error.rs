//! Errors of the node shell.

/// What went wrong with a connection or a request.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Socket error (connect, bind, read, write).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// No answer within the request timeout (Tw unless configured).
    #[error("no answer within the request timeout")]
    Timeout,
    /// The peer connection is not open (closed, refused, or went down).
    #[error("peer down: {0}")]
    PeerDown(String),
    /// The capabilities exchange failed with this Result-Code (e.g. 3010, 5010).
    #[error("capabilities exchange failed: Result-Code {0}")]
    Capabilities(u32),
    /// The node itself answered with this Result-Code (e.g. 3002 unable to
    /// deliver, 3003 realm not served, 3005 loop detected).
    #[error("Result-Code {0}")]
    Answer(u32),
    /// The request could not be encoded or is not a request.
    #[error("encode: {0}")]
    Encode(String),
    /// TLS setup or handshake failed.
    #[error("tls: {0}")]
    Tls(String),
}
