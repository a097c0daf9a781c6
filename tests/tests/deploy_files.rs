//! docker-compose.yml and the Dockerfile stay true to the workspace (no Docker engine here, so
//! they are parsed and cross-checked rather than run).

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

#[test]
fn compose_services_use_binaries_and_files_that_exist() {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
    let services = doc["services"].as_mapping().expect("services");
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let binaries = [
        "presence-server",
        "ue-emulator",
        "labctl",
        "session-manager",
        "group-server",
        "dra",
        "pcrf",
        "diameter-peer",
    ];
    let mut seen_binaries = 0;
    for (name, svc) in services {
        if let Some(build) = svc.get("build") {
            let file = build["dockerfile"].as_str().expect("dockerfile");
            assert!(root().join(file).is_file(), "{name:?}: {file} missing");
            let command = svc["command"].as_sequence().expect("command list");
            let bin = command[0].as_str().unwrap();
            assert!(
                binaries.contains(&bin),
                "{name:?} runs unknown binary {bin}"
            );
            assert!(
                dockerfile.contains(&format!("target/release/{bin}")),
                "Dockerfile does not ship {bin}"
            );
            if let Some(cfg) = command.iter().position(|a| a.as_str() == Some("--config")) {
                let path = command[cfg + 1].as_str().unwrap();
                let shipped = path.replace("/etc/corelab/", "deploy/");
                assert!(
                    root().join(&shipped).is_file(),
                    "{path} is not shipped from {shipped}"
                );
                assert!(dockerfile.contains(&format!("COPY {shipped} {path}")));
            }
            seen_binaries += 1;
        }
    }
    assert!(seen_binaries >= 3);
    let pg_url =
        services[&serde_yaml::Value::from("presence-server")]["environment"]["CORELAB_STORE__URL"]
            .as_str()
            .unwrap();
    assert!(pg_url.starts_with("postgres://") && pg_url.contains("@postgres:5432/"));
}

#[test]
fn shipped_dra_config_is_accepted_by_dra() {
    // The PCRF's compose name does not resolve here: --print-config checks the keys without
    // resolving (names are resolved at start).
    let out = std::process::Command::new(labctl::bin_path("dra").unwrap())
        .args([
            "--config",
            root().join("deploy/vdra.toml").to_str().unwrap(),
            "--print-config",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_pcrf_and_hdra_configs_are_accepted() {
    for (bin, file) in [
        ("pcrf", "deploy/vpcrf.toml"),
        ("pcrf", "deploy/hpcrf.toml"),
        ("dra", "deploy/hdra.toml"),
    ] {
        let out = std::process::Command::new(labctl::bin_path(bin).unwrap())
            .args([
                "--config",
                root().join(file).to_str().unwrap(),
                "--print-config",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn shipped_presence_config_is_valid_toml_with_known_sections() {
    let text = std::fs::read_to_string(root().join("deploy/presence.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).expect("deploy/presence.toml is TOML");
    for key in doc.keys() {
        assert!(
            [
                "sip",
                "admin",
                "grpc",
                "recovery",
                "registrar",
                "subscription",
                "authorization",
                "store",
                "log",
                "node"
            ]
            .contains(&key.as_str()),
            "unknown section {key}"
        );
    }
    // And presence-server itself accepts it.
    let out = std::process::Command::new(labctl::bin_path("presence-server").unwrap())
        .args([
            "--config",
            root().join("deploy/presence.toml").to_str().unwrap(),
            "--print-config",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_group_server_config_is_accepted() {
    let out = std::process::Command::new(labctl::bin_path("group-server").unwrap())
        .args([
            "--config",
            root().join("deploy/group-server.toml").to_str().unwrap(),
            "--print-config",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"0.0.0.0:8080\"") && text.contains("172.16.0.0/12"),
        "{text}"
    );
}

#[test]
fn docker_build_context_excludes_build_output_and_dependencies_build_in_their_own_layer() {
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    assert!(
        ignore.lines().any(|l| l.trim() == "target"),
        "target/ is not sent to the build"
    );
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let cook = dockerfile
        .find("cargo chef cook")
        .expect("dependencies cooked");
    let copy_all = dockerfile.rfind("COPY . .").expect("sources copied");
    let build = dockerfile
        .find("cargo build --release --bins")
        .expect("binaries built");
    assert!(
        cook < copy_all && copy_all < build,
        "dependency layer before the sources"
    );
}
