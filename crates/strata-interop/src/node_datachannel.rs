//! libdatachannel, the C++ WebRTC library, as the `node-datachannel` npm package, running
//! `node/datachannel_peer.mjs`: a peer that speaks the JSON-line signaling of Strata's
//! `offer` and `answer` examples (see that script for its protocol).
//!
//! [`find_or_install`] prepares it before a scenario is isolated (the npm registry is not
//! reachable from a private namespace): it finds `node` (installing Debian's `nodejs` and
//! `npm` when missing, as [`crate::chromium`] does for Chromium), writes the script and
//! its `package.json` (which pins the package version) into a directory of its own under
//! the Cargo target directory, and runs `npm install` there when the pinned version is
//! not installed yet. `npm install node-datachannel` installs a prebuilt binary from the
//! npm registry; nothing is compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The script the scenarios run, and the manifest that pins its dependency.
const SCRIPT: &str = include_str!("../node/datachannel_peer.mjs");
const SCRIPT_NAME: &str = "datachannel_peer.mjs";
const PACKAGE_JSON: &str = include_str!("../node/package.json");

/// The pinned `node-datachannel` version (the one `node/package.json` names).
pub const VERSION: &str = "0.33.4";

/// A prepared libdatachannel peer: `node` and the script, with its modules installed.
#[derive(Debug, Clone)]
pub struct NodeDatachannel {
    node: PathBuf,
    script: PathBuf,
}

impl NodeDatachannel {
    /// A command that runs the peer in `role` (`"offer"` or `"answer"`).
    pub fn command(&self, role: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.node);
        command.arg(&self.script).arg(role);
        if let Some(dir) = self.script.parent() {
            command.current_dir(dir);
        }
        command
    }
}

/// Finds node and installs `node-datachannel` where needed; fails with a clear message
/// when either cannot be had. It never pretends to have run a peer.
///
/// `STRATA_NODE` overrides the `node` binary, `STRATA_NODE_DIR` the install directory.
pub fn find_or_install() -> anyhow::Result<NodeDatachannel> {
    let node = find_or_install_node()?;
    let dir = match std::env::var_os("STRATA_NODE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => default_dir(),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_if_changed(&dir.join("package.json"), PACKAGE_JSON)?;
    let script = dir.join(SCRIPT_NAME);
    write_if_changed(&script, SCRIPT)?;

    if installed_version(&dir).as_deref() != Some(VERSION) {
        eprintln!(
            "installing node-datachannel {VERSION} with npm into {}",
            dir.display()
        );
        let status = Command::new(npm_next_to(&node))
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .context("cannot run npm (Debian package `npm`)")?;
        if !status.success() || installed_version(&dir).as_deref() != Some(VERSION) {
            bail!(
                "libdatachannel interop needs node-datachannel {VERSION}, and `npm install` in {} \
                 failed ({status}); it needs the npm registry",
                dir.display()
            );
        }
    }
    // Load the native module once, so a broken install fails here, clearly.
    let check = Command::new(&node)
        .args([
            "--input-type=module",
            "-e",
            "import ndc from 'node-datachannel'; ndc.cleanup();",
        ])
        .current_dir(&dir)
        .output()
        .context("cannot run node")?;
    if !check.status.success() {
        bail!(
            "node-datachannel is installed in {} but does not load: {}",
            dir.display(),
            String::from_utf8_lossy(&check.stderr).trim()
        );
    }
    Ok(NodeDatachannel { node, script })
}

fn find_or_install_node() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("STRATA_NODE") {
        let path = PathBuf::from(path);
        if !path.exists() {
            bail!(
                "STRATA_NODE points at {}, which does not exist",
                path.display()
            );
        }
        return Ok(path);
    }
    if let Some(path) = node_on_path() {
        return Ok(path);
    }
    eprintln!("node is not installed; installing it with apt-get (Debian packages `nodejs npm`)");
    let install = |update: bool| -> anyhow::Result<bool> {
        if update {
            Command::new("apt-get").args(["update", "-qq"]).status()?;
        }
        Ok(Command::new("apt-get")
            .args(["install", "-y", "-qq", "nodejs", "npm"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?
            .success())
    };
    let installed_now = install(false).unwrap_or(false) || install(true).unwrap_or(false);
    match node_on_path() {
        Some(path) if installed_now => Ok(path),
        _ => bail!(
            "node is required for libdatachannel interop and could not be installed \
             (`apt-get install -y nodejs npm` failed; run it as root, or set STRATA_NODE)"
        ),
    }
}

fn node_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["node", "nodejs"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `npm` beside `node` when it is there (a node installed outside Debian), else from PATH.
fn npm_next_to(node: &Path) -> PathBuf {
    node.parent()
        .map(|dir| dir.join("npm"))
        .filter(|npm| npm.is_file())
        .unwrap_or_else(|| PathBuf::from("npm"))
}

/// `<target dir>/strata-interop-node`: the Cargo target directory is the nearest
/// ancestor of this executable holding `CACHEDIR.TAG`; the system temp directory when
/// there is none.
fn default_dir() -> PathBuf {
    let target = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    target
        .unwrap_or_else(std::env::temp_dir)
        .join("strata-interop-node")
}

fn write_if_changed(path: &Path, contents: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        std::fs::write(path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn installed_version(dir: &Path) -> Option<String> {
    let manifest = dir.join("node_modules/node-datachannel/package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    manifest["version"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_is_the_one_the_manifest_names() {
        let manifest: serde_json::Value = serde_json::from_str(PACKAGE_JSON).unwrap();
        assert_eq!(manifest["dependencies"]["node-datachannel"], VERSION);
    }
}
