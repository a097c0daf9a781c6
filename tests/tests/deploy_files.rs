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
        "poc-participating",
        "poc-controlling",
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
fn shipped_dra_and_pcrf_configs_are_accepted() {
    // The peers' compose names do not resolve here: --print-config checks the keys without
    // resolving (names are resolved at start).
    for (bin, file) in [
        ("dra", "deploy/vdra.toml"),
        ("dra", "deploy/hdra.toml"),
        ("pcrf", "deploy/vpcrf.toml"),
        ("pcrf", "deploy/hpcrf.toml"),
    ] {
        print_config(bin, file);
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
    print_config("presence-server", "deploy/presence.toml");
}

#[test]
fn shipped_group_server_config_is_accepted() {
    let text = print_config("group-server", "deploy/group-server.toml").to_string();
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

/// `--print-config` of `bin` with the shipped `file`: the node's own loader accepts it; its JSON.
fn print_config(bin: &str, file: &str) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The compose service `name`'s fixed address on the lab network.
fn compose_address(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["services"][name]["networks"]["default"]["ipv4_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no fixed address"))
        .to_string()
}

#[test]
fn shipped_poc_configs_are_accepted_and_agree_with_compose() {
    let cf = print_config("poc-controlling", "deploy/poc-controlling.toml");
    let cf_ip = compose_address("cf");
    // The relay's address goes into SDP: it must be the CF's own address on the network.
    assert_eq!(cf["media"]["address"], serde_json::json!(cf_ip), "{cf}");
    assert_eq!(cf["xcap"]["root"], "http://group-server:8080/xcap");
    // The group server lets the CF read every group.
    let gs = print_config("group-server", "deploy/group-server.toml");
    assert!(
        gs["xcap"]["readers"]
            .as_array()
            .unwrap()
            .contains(&cf["xcap"]["identity"]),
        "{gs}"
    );
    let cf_port = cf["sip"]["listen"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    for (service, file, user_ip) in [
        ("pf-a", "deploy/pf-a.toml", "172.28.0.21"),
        ("pf-b", "deploy/pf-b.toml", "172.28.0.22"),
    ] {
        let pf = print_config("poc-participating", file);
        compose_address(service);
        // The CF's P-Asserted-Identity is believed by its fixed address; groups go to it.
        assert_eq!(
            pf["participating"]["trusted_sources"],
            serde_json::json!([cf_ip]),
            "{file}"
        );
        assert_eq!(
            pf["participating"]["controlling"][0]["uri"],
            serde_json::json!(format!("sip:cf:{cf_port}")),
            "{file}"
        );
        for groups in cf["groups"]["served"].as_array().unwrap() {
            assert_eq!(&pf["participating"]["controlling"][0]["domain"], groups);
        }
        // Its users' contacts are the addresses kept for the terminals.
        let users = pf["participating"]["users"].as_array().unwrap();
        assert!(
            users
                .iter()
                .all(|u| u["contact"].as_str().unwrap().contains(user_ip)),
            "{file}: {users:?}"
        );
    }
    // The schemas differ: both PFs share the lab's PostgreSQL.
    assert_ne!(
        print_config("poc-participating", "deploy/pf-a.toml")["store"]["schema"],
        print_config("poc-participating", "deploy/pf-b.toml")["store"]["schema"]
    );
}
