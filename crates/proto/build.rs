//! Compile `proto/` with protox (pure Rust), so no `protoc` needs installing.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = [
        "corelab/presence/v1/control.proto",
        "corelab/ue/v1/control.proto",
        "corelab/n1/v1/n1.proto",
        "corelab/session/v1/control.proto",
        "corelab/group/v1/control.proto",
        "corelab/dra/v1/control.proto",
        "corelab/ue/v1/fivegs.proto",
        "corelab/ue/v1/poc.proto",
        "corelab/poc/v1/common.proto",
        "corelab/poc/v1/participating.proto",
        "corelab/poc/v1/controlling.proto",
        "corelab/pcrf/v1/control.proto",
        "corelab/pcc/v1/control.proto",
        "corelab/events/v1/wire_tap.proto",
    ];
    let fds = protox::compile(files, [root])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed={root}");
    Ok(())
}
