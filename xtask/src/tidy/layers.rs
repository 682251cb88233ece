//! Layers declared in manifests, and the dependency rules that follow from them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::{Violation, WEBRTC_RS_CRATES, relative};
use crate::shell::{self, cargo};

/// Where a crate sits in the architecture (see ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// Logic we own: state machines fed with time and input, no I/O.
    SansIo,
    /// Wraps webrtc-rs crates behind our own types.
    Adapter,
    /// The `strata` crate users depend on.
    Facade,
    /// Binaries that serve.
    Server,
    /// Tests, benchmarks and harnesses; not part of the shipped stack.
    Support,
}

impl Layer {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sans-io" => Self::SansIo,
            "adapter" => Self::Adapter,
            "facade" => Self::Facade,
            "server" => Self::Server,
            "support" => Self::Support,
            _ => return None,
        })
    }
}

/// One workspace crate under `crates/`.
#[derive(Debug)]
pub(crate) struct Crate {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    /// `None` when the manifest declares no (known) layer.
    pub(crate) layer: Option<Layer>,
    /// Directories of sans-IO code inside a crate of another layer.
    pub(crate) sans_io_modules: Vec<PathBuf>,
    /// Files or directories of a sans-IO crate that drive its logic with I/O behind a
    /// non-default feature (an async client, say): exempt from the sans-IO code rule,
    /// while the dependency rule still keeps tokio out of the default features.
    pub(crate) io_modules: Vec<PathBuf>,
    /// Names of its non-optional normal dependencies.
    pub(crate) dependencies: Vec<String>,
    /// The names its code uses for the webrtc-rs crates it depends on (renames applied).
    pub(crate) upstream_code_names: HashSet<String>,
    /// Its feature names.
    pub(crate) features: Vec<String>,
    /// The layer text as written, for messages.
    declared: Option<String>,
}

impl Crate {
    /// Directories whose code must be sans-IO: all of `src/` for a sans-IO crate.
    pub(crate) fn sans_io_dirs(&self) -> Vec<PathBuf> {
        if self.layer == Some(Layer::SansIo) {
            vec![self.dir.join("src")]
        } else {
            self.sans_io_modules.clone()
        }
    }
}

/// The workspace as `cargo metadata` describes it.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    pub(crate) crates: Vec<Crate>,
}

impl Workspace {
    /// Loads the crates under `root/crates` from `cargo metadata`.
    pub(crate) fn load(root: &Path) -> anyhow::Result<Self> {
        let json = shell::output(cargo(root).args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]))?;
        let metadata: Value =
            serde_json::from_str(&json).context("cargo metadata printed invalid JSON")?;
        let crates_dir = root
            .join("crates")
            .canonicalize()
            .unwrap_or_else(|_| root.join("crates"));
        let mut crates = Vec::new();
        for package in metadata["packages"].as_array().into_iter().flatten() {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            if !dir.starts_with(&crates_dir) {
                continue;
            }
            let strata = &package["metadata"]["strata"];
            let declared = strata["layer"].as_str().map(str::to_owned);
            let sans_io_modules = strata["sans-io-modules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|module| dir.join(module))
                .collect();
            let io_modules = strata["io-modules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|module| dir.join(module))
                .collect();
            let normal: Vec<&Value> = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .collect();
            let dependencies = normal
                .iter()
                .filter(|d| d["optional"] != Value::Bool(true))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            let upstream_code_names = normal
                .iter()
                .filter(|d| {
                    d["name"]
                        .as_str()
                        .is_some_and(|n| WEBRTC_RS_CRATES.contains(&n))
                })
                .filter_map(|d| d["rename"].as_str().or_else(|| d["name"].as_str()))
                .map(|name| name.replace('-', "_"))
                .collect();
            let features = package["features"]
                .as_object()
                .map(|features| features.keys().cloned().collect())
                .unwrap_or_default();
            crates.push(Crate {
                name: package["name"].as_str().unwrap_or_default().to_owned(),
                layer: declared.as_deref().and_then(Layer::parse),
                declared,
                dir,
                sans_io_modules,
                io_modules,
                dependencies,
                upstream_code_names,
                features,
            });
        }
        crates.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            root: root.to_path_buf(),
            crates,
        })
    }
}

/// Layer declarations, tokio-free sans-IO crates, and a facade free of direct webrtc-rs
/// dependencies.
pub(crate) fn check(workspace: &Workspace) -> anyhow::Result<Vec<Violation>> {
    let mut violations = Vec::new();
    for krate in &workspace.crates {
        let location = relative(&workspace.root, &krate.dir);
        match krate.layer {
            None => violations.push(Violation {
                rule: "layer",
                location,
                message: format!(
                    "{}; set [package.metadata.strata] layer to one of \
                     sans-io, adapter, facade, server, support",
                    krate.declared.as_ref().map_or_else(
                        || "declares no layer".to_owned(),
                        |layer| format!("declares unknown layer `{layer}`")
                    )
                ),
            }),
            Some(Layer::SansIo) => {
                if let Some(path) = tokio_path(workspace, &krate.name)? {
                    violations.push(Violation {
                        rule: "sans-io-deps",
                        location,
                        message: format!("sans-IO crate depends on tokio: {path}"),
                    });
                }
            }
            Some(Layer::Facade) => {
                for dependency in &krate.dependencies {
                    if WEBRTC_RS_CRATES.contains(&dependency.as_str()) {
                        violations.push(Violation {
                            rule: "facade-deps",
                            location: location.clone(),
                            message: format!(
                                "the facade depends on webrtc-rs crate `{dependency}` directly; \
                                 go through an adapter crate"
                            ),
                        });
                    }
                }
            }
            Some(Layer::Adapter | Layer::Server | Layer::Support) => {}
        }
    }
    Ok(violations)
}

/// The chain of crates through which `name` reaches tokio (normal dependencies, default
/// features), if it does.
fn tokio_path(workspace: &Workspace, name: &str) -> anyhow::Result<Option<String>> {
    let tree = shell::output(cargo(&workspace.root).args([
        "tree",
        "--offline",
        "--package",
        name,
        "--edges",
        "normal",
        "--prefix",
        "depth",
        "--format",
        "{p}",
    ]))?;
    // Lines look like `2tokio v1.48.0`: depth, then the package. Keep the current ancestry.
    let mut ancestry: Vec<String> = Vec::new();
    for line in tree.lines() {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let Ok(depth) = line[..digits].parse::<usize>() else {
            continue;
        };
        let package = line[digits..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        ancestry.truncate(depth);
        ancestry.push(package);
        if ancestry.last().is_some_and(|p| p == "tokio") {
            return Ok(Some(ancestry.join(" -> ")));
        }
    }
    Ok(None)
}
