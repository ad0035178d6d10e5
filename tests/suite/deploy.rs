//! The deployment files cannot be run here (no container engine); check what
//! can be checked: they parse, and every command, port and probe they name
//! exists in the product.

use clap::CommandFactory;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn subcommands() -> Vec<String> {
    aqueduct_server::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

fn load(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every first argument given to the aqueduct image/binary, anywhere in a
/// YAML document (`args:` in Kubernetes, `command:` in Compose).
fn commands(doc: &Yaml, key: &str, out: &mut Vec<String>) {
    match doc {
        Yaml::Hash(h) => {
            for (k, v) in h {
                if k.as_str() == Some(key)
                    && let Some(first) = v.as_vec().and_then(|a| a.first()).and_then(Yaml::as_str)
                {
                    out.push(first.to_owned());
                }
                commands(v, key, out);
            }
        }
        Yaml::Array(a) => a.iter().for_each(|v| commands(v, key, out)),
        _ => {}
    }
}

#[test]
fn kubernetes_manifests_parse_and_name_real_commands_and_probes() {
    let known = subcommands();
    let dir = repo().join("deploy/k8s");
    let mut kinds = Vec::new();
    let mut args = Vec::new();
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        text.push_str(&std::fs::read_to_string(&path).unwrap());
        for doc in load(&path) {
            assert!(
                doc["apiVersion"].as_str().is_some(),
                "{}: apiVersion",
                path.display()
            );
            kinds.push(doc["kind"].as_str().unwrap().to_owned());
            commands(&doc, "args", &mut args);
        }
    }
    for kind in [
        "Deployment",
        "Job",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in deploy/k8s");
    }
    assert!(args.len() >= 3);
    for a in &args {
        assert!(
            known.contains(a),
            "manifest runs `aqueduct {a}`, which does not exist"
        );
    }
    assert!(text.contains("path: /readyz") && text.contains("path: /healthz"));
    assert!(text.contains("containerPort: 8080"));
}

#[test]
fn compose_dockerfile_and_systemd_name_real_commands() {
    let known = subcommands();
    let mut cmds = Vec::new();
    for doc in load(&repo().join("deploy/docker-compose.yml")) {
        commands(&doc, "command", &mut cmds);
    }
    for c in ["migrate", "demo", "serve", "worker"] {
        assert!(cmds.iter().any(|x| x == c), "compose lacks `{c}`");
    }
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/aqueduct.service")).unwrap();
    for sub in ["health", "serve"] {
        assert!(
            dockerfile.contains(&format!("\"{sub}\"")),
            "Dockerfile lacks {sub}"
        );
    }
    assert!(unit.contains("serve --with-worker"));
    assert!(dockerfile.contains("--bin aqueduct"));
    for c in cmds.iter().filter(|c| !["server"].contains(&c.as_str())) {
        // Third-party images' commands (minio `server`) are not ours.
        assert!(
            known.contains(c),
            "compose runs `aqueduct {c}`, which does not exist"
        );
    }
    // The README's commands are the ones the images run.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for c in ["aqueduct migrate", "aqueduct serve", "aqueduct worker"] {
        assert!(readme.contains(c), "README lacks {c}");
    }
}
