//! ARCHITECTURE.md must stay true to the code: at least, it names every crate.

use std::path::Path;

use super::layers::Workspace;
use super::{Violation, relative};

pub(crate) fn check(root: &Path, workspace: &Workspace) -> Vec<Violation> {
    let path = root.join("ARCHITECTURE.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return vec![Violation {
            rule: "architecture-doc",
            location: "ARCHITECTURE.md".to_owned(),
            message: "missing".to_owned(),
        }];
    };
    workspace
        .crates
        .iter()
        .filter(|krate| !text.contains(&format!("`{}`", krate.name)))
        .map(|krate| Violation {
            rule: "architecture-doc",
            location: relative(root, &krate.dir),
            message: format!(
                "ARCHITECTURE.md does not describe `{}` (name it in the code map)",
                krate.name
            ),
        })
        .collect()
}
