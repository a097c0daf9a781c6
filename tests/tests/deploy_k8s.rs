//! deploy/kustomization.yaml and deploy/k8s/ stay true to the workspace and to docker-compose.yml.
//! No cluster runs here: the manifests are parsed and cross-checked (binaries, configs, ports,
//! probes, selectors), and every node accepts its shipped config the way the pod starts it. The
//! schema check against the Kubernetes API is `tests/interop/k8s-manifests.sh` (kubectl kustomize +
//! kubernetes-validate, both independent of this code).

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("deploy")
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .collect()
}

fn kustomization() -> Value {
    yaml_docs(&deploy().join("kustomization.yaml")).remove(0)
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Every resource the kustomization applies, by (kind, name).
fn resources() -> BTreeMap<(String, String), Value> {
    let mut all = BTreeMap::new();
    for file in str_list(&kustomization()["resources"]) {
        for doc in yaml_docs(&deploy().join(&file)) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                !kind.is_empty() && !name.is_empty(),
                "{file}: kind and name"
            );
            assert!(
                all.insert((kind.clone(), name.clone()), doc).is_none(),
                "{kind}/{name} twice"
            );
        }
    }
    all
}

/// The workloads (Deployments and StatefulSets) other than PostgreSQL: the corelab nodes.
fn nodes(all: &BTreeMap<(String, String), Value>) -> Vec<(&String, &Value)> {
    all.iter()
        .filter(|((kind, name), _)| {
            (kind == "Deployment" || kind == "StatefulSet") && name != "postgres"
        })
        .map(|((_, name), doc)| (name, doc))
        .collect()
}

fn container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

/// `/etc/corelab/X.toml` of the container's `--config`.
fn config_of(workload: &Value) -> String {
    let command = str_list(&container(workload)["command"]);
    let at = command
        .iter()
        .position(|a| a == "--config")
        .expect("--config");
    command[at + 1].clone()
}

#[test]
fn every_file_in_deploy_k8s_is_applied_and_every_resource_is_in_the_namespace() {
    let listed: BTreeSet<String> = str_list(&kustomization()["resources"])
        .into_iter()
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(deploy().join("k8s"))
        .unwrap()
        .map(|e| format!("k8s/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    assert_eq!(
        listed, on_disk,
        "kustomization resources vs deploy/k8s/*.yaml"
    );
    for ((kind, name), doc) in resources() {
        if kind != "Namespace" {
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some("corelab"),
                "{kind}/{name}"
            );
        }
    }
}

#[test]
fn every_node_runs_a_shipped_binary_with_a_config_from_the_generated_configmap() {
    let all = resources();
    let dockerfile = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let generated: BTreeSet<String> = str_list(&kustomization()["configMapGenerator"][0]["files"])
        .into_iter()
        .collect();
    assert_eq!(
        kustomization()["configMapGenerator"][0]["name"].as_str(),
        Some("corelab-config")
    );
    assert!(nodes(&all).len() >= 7, "every node kind has a workload");
    for (name, w) in nodes(&all) {
        let c = container(w);
        assert_eq!(c["image"].as_str(), Some("corelab"), "{name}");
        let bin = str_list(&c["command"])[0].clone();
        assert!(
            dockerfile.contains(&format!("target/release/{bin} ")),
            "{name}: the Dockerfile does not ship {bin}"
        );
        let file = config_of(w)
            .strip_prefix("/etc/corelab/")
            .expect("config under /etc/corelab")
            .to_string();
        assert!(
            generated.contains(&file),
            "{name}: {file} not in the ConfigMap"
        );
        assert!(deploy().join(&file).is_file(), "{name}: deploy/{file}");
        let mounts = c["volumeMounts"].as_sequence().expect("volumeMounts");
        assert!(
            mounts
                .iter()
                .any(|m| m["mountPath"].as_str() == Some("/etc/corelab"))
        );
        let volumes = w["spec"]["template"]["spec"]["volumes"]
            .as_sequence()
            .expect("volumes");
        assert!(
            volumes
                .iter()
                .any(|v| v["configMap"]["name"].as_str() == Some("corelab-config"))
        );
        let env = c["env"].as_sequence().expect("env");
        assert!(
            env.iter()
                .any(|e| e["name"].as_str() == Some("CORELAB_STORE__URL")
                    && e["valueFrom"]["secretKeyRef"]["name"].as_str() == Some("corelab-store")),
            "{name}: store URL from the Secret"
        );
    }
}

/// The pod's ports are the ones its config listens on; readiness is `/readyz` and liveness
/// `/healthz` on the admin port; each node accepts its config as the pod starts it.
#[test]
fn ports_and_probes_match_what_each_node_listens_on() {
    let all = resources();
    for (name, w) in nodes(&all) {
        let c = container(w);
        let file = config_of(w).replace("/etc/corelab/", "");
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(deploy().join(&file)).unwrap()).unwrap();
        let listen_port = |section: &str| -> Option<i64> {
            config
                .get(section)?
                .get("listen")?
                .as_str()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()
        };
        let ports: BTreeMap<String, (i64, String)> = c["ports"]
            .as_sequence()
            .expect("ports")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    (
                        p["containerPort"].as_i64().unwrap(),
                        p["protocol"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        for (port_name, section) in [
            ("admin", "admin"),
            ("grpc", "grpc"),
            ("diameter", "diameter"),
            ("xcap", "xcap"),
            ("sip-udp", "sip"),
            ("sip-tcp", "sip"),
        ] {
            match (ports.get(port_name), listen_port(section)) {
                (Some((port, _)), Some(listen)) => {
                    assert_eq!(*port, listen, "{name}: {port_name} vs {file} [{section}]")
                }
                (Some(_), None) => panic!("{name}: port {port_name} but {file} has no [{section}]"),
                (None, Some(_)) if port_name != "sip-tcp" => {
                    panic!(
                        "{name}: {file} listens on [{section}] but the pod has no {port_name} port"
                    )
                }
                _ => {}
            }
        }
        if ports.contains_key("sip-udp") {
            assert_eq!(ports["sip-udp"].1, "UDP", "{name}");
            assert_eq!(ports["sip-tcp"].1, "TCP", "{name}: SIP over TCP too");
        }
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            assert_eq!(c[probe]["httpGet"]["path"].as_str(), Some(path), "{name}");
            assert_eq!(
                c[probe]["httpGet"]["port"].as_str(),
                Some("admin"),
                "{name}"
            );
        }
        // The node accepts the config with the pod's environment overrides.
        let bin = str_list(&c["command"])[0].clone();
        let mut cmd = std::process::Command::new(labctl::bin_path(&bin).unwrap());
        cmd.args([
            "--config",
            deploy().join(&file).to_str().unwrap(),
            "--print-config",
        ]);
        for e in c["env"].as_sequence().unwrap() {
            if let Some(value) = e["value"].as_str() {
                cmd.env(
                    e["name"].as_str().unwrap(),
                    value.replace("$(POD_NAME)", &format!("{name}-0")),
                );
            }
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every Service selects a workload and targets ports that workload names, with their protocol.
#[test]
fn every_service_selects_a_workload_and_its_named_ports() {
    let all = resources();
    let services: Vec<_> = all.iter().filter(|((k, _), _)| k == "Service").collect();
    assert!(services.len() >= 8);
    for ((_, name), svc) in services {
        let selector = &svc["spec"]["selector"];
        let workload = all
            .iter()
            .filter(|((k, _), _)| k == "Deployment" || k == "StatefulSet")
            .map(|(_, w)| w)
            .find(|w| {
                w["spec"]["selector"]["matchLabels"] == *selector
                    && selector.as_mapping().is_some_and(|m| {
                        m.iter()
                            .all(|(k, v)| w["spec"]["template"]["metadata"]["labels"][k] == *v)
                    })
            })
            .unwrap_or_else(|| panic!("service {name} selects no workload"));
        let declared = container(workload)["ports"].as_sequence().unwrap();
        for p in svc["spec"]["ports"].as_sequence().unwrap() {
            let target = p["targetPort"].as_str().expect("named targetPort");
            let port = declared
                .iter()
                .find(|d| d["name"].as_str() == Some(target))
                .unwrap_or_else(|| panic!("service {name}: no container port {target}"));
            assert_eq!(p["protocol"], port["protocol"], "service {name} {target}");
            assert_eq!(p["port"], port["containerPort"], "service {name} {target}");
        }
    }
}

/// docker-compose.yml and the manifests run the same nodes with the same configs.
#[test]
fn kubernetes_runs_every_node_docker_compose_runs() {
    let compose = yaml_docs(&deploy().join("../docker-compose.yml")).remove(0);
    let in_compose: BTreeSet<String> = compose["services"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|svc| {
            let command = str_list(&svc["command"]);
            let at = command.iter().position(|a| a == "--config")?;
            Some(command[at + 1].clone())
        })
        .collect();
    let all = resources();
    let in_k8s: BTreeSet<String> = nodes(&all).into_iter().map(|(_, w)| config_of(w)).collect();
    assert_eq!(in_compose, in_k8s);
}
