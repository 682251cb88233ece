//! `cargo xtask tidy`: mechanical checks of the architecture's rules.
//!
//! Every crate under `crates/` declares its layer in its manifest:
//!
//! ```toml
//! [package.metadata.strata]
//! layer = "sans-io"          # sans-io | adapter | facade | server | support
//! sans-io-modules = ["src/dcep"]   # optional: sans-IO parts of a crate of another layer
//! io-modules = ["src/client.rs"]   # optional: I/O drivers of a sans-IO crate, behind a
//!                                  # non-default feature
//! ```
//!
//! and the rules follow from it:
//! - **sans-io** crates do not depend on tokio (normal dependencies, default features), and
//!   their code, like that of any `sans-io-modules`, reads no clock, draws no unseeded
//!   randomness and names no tokio item (test code and declared `io-modules` excepted);
//! - the **facade** depends on no webrtc-rs crate directly, and no public item of a
//!   non-support crate names a webrtc-rs type;
//! - no `todo!` or `unimplemented!` anywhere, no grab-bag modules (`utils.rs`, ...);
//! - `ARCHITECTURE.md` names every crate.
//!
//! The same checks run as a test (`cargo test -p xtask`), against this workspace and against
//! a fixture workspace that breaks every rule.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::bail;

mod docs;
mod layers;
mod public_api;
mod sources;

pub(crate) use layers::Workspace;

/// The crates published by the webrtc-rs project, by the names code uses for them.
pub(crate) const WEBRTC_RS_CRATES: &[&str] = &[
    "webrtc",
    "webrtc-ice",
    "dtls",
    "webrtc-dtls",
    "webrtc-srtp",
    "webrtc-sctp",
    "rtp",
    "rtcp",
    "sdp",
    "stun",
    "turn",
    "webrtc-util",
    "webrtc-mdns",
    "webrtc-data",
    "webrtc-media",
    "interceptor",
];

/// One broken rule, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Short rule id, stable for tests: `layer`, `sans-io-deps`, `sans-io-code`,
    /// `facade-deps`, `public-api`, `placeholder`, `module-name`, `architecture-doc`.
    pub(crate) rule: &'static str,
    pub(crate) location: String,
    pub(crate) message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.location, self.message)
    }
}

/// Runs every check on the workspace at `root` and fails when any rule is broken.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let violations = check(root)?;
    if violations.is_empty() {
        eprintln!("xtask tidy: all rules hold");
        return Ok(());
    }
    for violation in &violations {
        eprintln!("{violation}");
    }
    bail!("{} tidy rule violation(s)", violations.len())
}

/// Every violation in the workspace at `root`.
pub(crate) fn check(root: &Path) -> anyhow::Result<Vec<Violation>> {
    let workspace = Workspace::load(root)?;
    let mut violations = layers::check(&workspace)?;
    violations.extend(public_api::check(&workspace));
    violations.extend(sources::check(root, &workspace)?);
    violations.extend(docs::check(root, &workspace));
    Ok(violations)
}

/// Every `.rs` file below `dir`, skipping build output and checked-out dependencies.
pub(crate) fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !matches!(
                    name.to_str(),
                    Some("target" | "node_modules" | ".git" | "fixtures")
                ) {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `path` relative to `root`, for messages.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> PathBuf {
        crate::workspace_root()
    }

    /// Copies the fixture workspace to a temporary directory (cargo writes a lock file).
    fn broken_fixture() -> tempfile::TempDir {
        let source = workspace_root()
            .join("xtask")
            .join("fixtures")
            .join("broken-workspace");
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&source, copy.path());
        copy
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn this_workspace_is_tidy() {
        let violations = check(&workspace_root()).unwrap();
        assert!(violations.is_empty(), "tidy violations:\n{violations:#?}");
    }

    #[test]
    fn every_rule_fires_on_the_broken_fixture() {
        let fixture = broken_fixture();
        let violations = check(fixture.path()).unwrap();
        let fired = |rule: &str, location: &str| {
            violations
                .iter()
                .any(|v| v.rule == rule && v.location.contains(location))
        };
        assert!(fired("layer", "strata-undeclared"), "{violations:#?}");
        assert!(fired("sans-io-deps", "strata-jitter"), "{violations:#?}");
        assert!(
            fired("sans-io-code", "strata-jitter/src/lib.rs"),
            "{violations:#?}"
        );
        assert!(
            fired("sans-io-code", "strata-datachannel/src/dcep"),
            "{violations:#?}"
        );
        assert!(fired("facade-deps", "strata"), "{violations:#?}");
        assert!(fired("public-api", "strata/src/lib.rs"), "{violations:#?}");
        assert!(
            fired("public-api", "strata-datachannel/src/lib.rs"),
            "{violations:#?}"
        );
        assert!(
            fired("placeholder", "strata-jitter/src/lib.rs"),
            "{violations:#?}"
        );
        assert!(fired("module-name", "utils.rs"), "{violations:#?}");
        assert!(
            fired("architecture-doc", "strata-undeclared"),
            "{violations:#?}"
        );
    }

    #[test]
    fn allowed_patterns_in_the_fixture_are_not_reported() {
        let fixture = broken_fixture();
        let violations = check(fixture.path()).unwrap();
        // Test code in a sans-IO crate may read the clock; private items may name
        // upstream types; the adapter's internal `Conn` impl is not public API.
        for v in &violations {
            assert!(
                !v.message.contains("allowed_"),
                "reported an allowed pattern: {v}"
            );
        }
        let public_api: Vec<_> = violations
            .iter()
            .filter(|v| v.rule == "public-api")
            .collect();
        assert_eq!(public_api.len(), 4, "{public_api:#?}");
    }
}
