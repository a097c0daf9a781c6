//! labctl's library: start corelab binaries as real processes on loopback ephemeral ports, wait
//! for their ready files, and reach their gRPC control services. The demo and the scenario tests
//! in `tests/` both use it; `mbs` is the MBS lab (session-manager and 5G gNBs) they share, `poc` the
//! PoC lab (group server, controlling and participating functions, PoC terminals), `dra` the
//! roaming DRA lab (vDRA, vPCRF, hDRA, hPCRF), `probe` what `labctl probe presence|dra` report.

pub mod capture;
pub mod console;
pub mod dra;
pub mod http;
pub mod lab;
pub mod lab_demo;
pub mod ladder;
pub mod mbs;
pub mod node;
pub mod pcc;
pub mod poc;
pub mod poc_figure;
pub mod presence;
pub mod probe;
pub mod probe_dra;
pub mod wait;

pub use node::{Node, bin_path, free_port};
