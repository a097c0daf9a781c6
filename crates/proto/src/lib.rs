//! Generated gRPC code for the control services in `proto/`.

pub mod presence {
    pub mod v1 {
        tonic::include_proto!("corelab.presence.v1");
    }
}

pub mod ue {
    pub mod v1 {
        tonic::include_proto!("corelab.ue.v1");
    }
}

/// The N1 link between ue-emulator (UEs + gNB) and session-manager: NAS-5GS PDUs and radio
/// events over one gRPC stream per gNB, in place of NGAP (docs/n1.md).
pub mod n1 {
    pub mod v1 {
        tonic::include_proto!("corelab.n1.v1");
    }
}

/// session-manager's control service (docs/session-manager.md).
pub mod session {
    pub mod v1 {
        tonic::include_proto!("corelab.session.v1");
    }
}

/// Control service of group-server (the PoC group XDMS).
pub mod group {
    pub mod v1 {
        tonic::include_proto!("corelab.group.v1");
    }
}

/// The control service of dra (bindings, docs/dra.md).
pub mod dra {
    pub mod v1 {
        tonic::include_proto!("corelab.dra.v1");
    }
}

/// Control services of the PoC servers (docs/poc.md).
pub mod poc {
    pub mod v1 {
        tonic::include_proto!("corelab.poc.v1");
    }
}

/// The control service of pcrf (sessions, S9 links, subsessions: docs/pcrf.md).
pub mod pcrf {
    pub mod v1 {
        tonic::include_proto!("corelab.pcrf.v1");
    }
}

/// The control service of pcc-emulator (docs/pcc-emulator.md).
pub mod pcc {
    pub mod v1 {
        tonic::include_proto!("corelab.pcc.v1");
    }
}

/// The wire tap every node serves on its control port (crates/wire-tap, `labctl capture`).
pub mod events {
    pub mod v1 {
        tonic::include_proto!("corelab.events.v1");
    }
}
