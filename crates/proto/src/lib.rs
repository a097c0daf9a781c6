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
