//! pcrf: a PCRF (TS 29.212 Gx and Gxx, TS 29.214 Rx) with a minimal but real policy, in the
//! visited (vPCRF) or home (hPCRF) PLMN. As vPCRF it carries each roaming UE's client sessions
//! as subsessions of one S9 session towards home (TS 29.215), and applies the seed's termination
//! fan-out (seed 003, specs/dra-roaming.md): [`fanout`] is the rule, [`app`] the procedure,
//! [`s9`] the S9 client through the hDRA. docs/pcrf.md.

pub mod admin_api;
pub mod app;
pub mod config;
pub mod control;
pub mod fanout;
pub mod metrics;
pub mod policy;
pub mod request;
pub mod s9;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use config::PcrfConfig;
use corelab_diameter_node::Node;
use store::PcrfStore;

/// Migrations of this network function (`migrations/pcrf`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/pcrf");

/// The PCRF: its configuration, its session store and (once started) its Diameter node, through
/// which it sends S9 requests and RARs.
#[derive(Clone)]
pub struct Pcrf {
    pub cfg: Arc<PcrfConfig>,
    pub store: PcrfStore,
    /// The hDRA's resolved address (role visited with `s9.home_realm`).
    pub hdra: Option<SocketAddr>,
    node: Arc<OnceLock<Node>>,
}

impl Pcrf {
    pub fn new(cfg: PcrfConfig, store: PcrfStore, hdra: Option<SocketAddr>) -> Pcrf {
        Pcrf {
            cfg: Arc::new(cfg),
            store,
            hdra,
            node: Arc::new(OnceLock::new()),
        }
    }

    /// Gives the PCRF its node (once, at start).
    pub fn set_node(&self, node: Node) {
        let _ = self.node.set(node);
    }

    pub fn node(&self) -> Option<&Node> {
        self.node.get()
    }
}
