//! dra: a Diameter routing agent for PCC (TS 29.213 §7) in the visited (vDRA) or home (hDRA)
//! PLMN, in redirect, proxy or proxy_variant mode, that deletes the bindings of terminated
//! sessions when roaming (seed 003, `specs/dra-roaming.md`). The seed's procedure is
//! [`binding_cleanup`]; [`policy`] plugs it into the diameter-node agent; [`store`] keeps the
//! bindings. docs/dra.md.

pub mod admin_api;
pub mod audit;
pub mod binding_cleanup;
pub mod config;
pub mod control;
pub mod local;
pub mod metrics;
pub mod policy;
pub mod request;
pub mod selection;
pub mod store;

use std::sync::Arc;

use std::net::SocketAddr;

use config::DraConfig;
use store::DraStore;

/// Migrations of this network function (`migrations/dra`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/dra");

/// A PCRF of the realm, its address resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcrf {
    /// Diameter identity.
    pub host: String,
    pub address: SocketAddr,
}

/// The DRA: its configuration, its PCRFs and its binding store.
#[derive(Clone)]
pub struct Dra {
    pub cfg: Arc<DraConfig>,
    pub pcrfs: Arc<Vec<Pcrf>>,
    pub store: DraStore,
}

impl Dra {
    pub fn new(cfg: DraConfig, pcrfs: Vec<Pcrf>, store: DraStore) -> Dra {
        Dra {
            cfg: Arc::new(cfg),
            pcrfs: Arc::new(pcrfs),
            store,
        }
    }

    /// The configured PCRF of this Diameter identity.
    pub fn pcrf(&self, host: &str) -> Option<&Pcrf> {
        self.pcrfs
            .iter()
            .find(|p| p.host.eq_ignore_ascii_case(host))
    }

    /// The PCRF a new binding of this UE identity gets ([`selection::choose`]).
    pub fn pcrf_for(&self, identity: &str) -> &str {
        let i = selection::choose(identity, self.pcrfs.len());
        self.pcrfs.get(i).map_or("", |p| p.host.as_str())
    }
}
