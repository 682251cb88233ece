//! Rules read off the source text: placeholders, sans-IO purity, module names.

use std::path::{Path, PathBuf};

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{Item, ItemUse, UseTree};

use super::layers::Workspace;
use super::public_api::is_cfg_test;
use super::{Violation, relative, rust_files};

/// Module names that say nothing about what the module does (STYLE.md, "names explain
/// themselves").
const GRAB_BAG_MODULES: &[&str] = &["utils", "util", "helpers", "helper", "common", "misc"];

pub(crate) fn check(root: &Path, workspace: &Workspace) -> anyhow::Result<Vec<Violation>> {
    let files = rust_files(root);
    let mut violations = placeholders(root, &files)?;
    violations.extend(module_names(root, &files));
    for krate in &workspace.crates {
        for dir in krate.sans_io_dirs() {
            for file in sans_io_files(&dir) {
                if krate.io_modules.iter().any(|m| file.starts_with(m)) {
                    continue;
                }
                violations.extend(sans_io_code(root, &file)?);
            }
        }
    }
    Ok(violations)
}

/// No `todo!` or `unimplemented!` anywhere: a user could reach it.
fn placeholders(root: &Path, files: &[PathBuf]) -> anyhow::Result<Vec<Violation>> {
    // Spelled in two halves so this file does not match itself.
    let needles = [concat!("todo", "!("), concat!("unimplemented", "!(")];
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        for (number, line) in text.lines().enumerate() {
            if let Some(needle) = needles.iter().find(|n| line.contains(*n)) {
                violations.push(Violation {
                    rule: "placeholder",
                    location: format!("{}:{}", relative(root, file), number + 1),
                    message: format!("`{}` left in the code", needle.trim_end_matches('(')),
                });
            }
        }
    }
    Ok(violations)
}

fn module_names(root: &Path, files: &[PathBuf]) -> Vec<Violation> {
    files
        .iter()
        .filter_map(|file| {
            let stem = file.file_stem()?.to_str()?;
            let module = if stem == "mod" {
                file.parent()?.file_name()?.to_str()?
            } else {
                stem
            };
            GRAB_BAG_MODULES.contains(&module).then(|| Violation {
                rule: "module-name",
                location: relative(root, file),
                message: format!(
                    "module `{module}` is a grab-bag name; name it for the one thing it does"
                ),
            })
        })
        .collect()
}

/// The `.rs` files of a sans-IO directory, or the single file `dir.rs` for a module
/// declared as a file.
fn sans_io_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_dir() {
        return rust_files(dir);
    }
    let file = dir.with_extension("rs");
    if file.is_file() {
        vec![file]
    } else {
        Vec::new()
    }
}

/// Sans-IO code takes time and randomness as inputs and knows nothing of tokio.
fn sans_io_code(root: &Path, file: &Path) -> anyhow::Result<Vec<Violation>> {
    let text = std::fs::read_to_string(file)?;
    let Ok(syntax) = syn::parse_file(&text) else {
        // Unparsable code fails the build anyway; cargo reports it better than we could.
        return Ok(Vec::new());
    };
    let mut finder = ImpureUse { found: Vec::new() };
    for item in &syntax.items {
        finder.visit_item(item);
    }
    Ok(finder
        .found
        .into_iter()
        .map(|(line, what)| Violation {
            rule: "sans-io-code",
            location: format!("{}:{line}", relative(root, file)),
            message: format!("sans-IO code uses {what}; take it as an input instead"),
        })
        .collect())
}

/// Finds clock reads, unseeded randomness, sleeps and tokio outside `#[cfg(test)]` code.
struct ImpureUse {
    found: Vec<(usize, String)>,
}

impl ImpureUse {
    fn judge(segments: &[String]) -> Option<&'static str> {
        let has = |pair: [&str; 2]| {
            segments
                .windows(2)
                .any(|w| w[0] == pair[0] && w[1] == pair[1])
        };
        if segments.first().is_some_and(|s| s == "tokio") {
            Some("tokio")
        } else if has(["Instant", "now"]) || has(["SystemTime", "now"]) {
            Some("the clock")
        } else if segments
            .iter()
            .any(|s| matches!(s.as_str(), "thread_rng" | "ThreadRng" | "OsRng"))
            || has(["rand", "random"])
            || has(["rand", "rng"])
        {
            Some("unseeded randomness")
        } else if has(["thread", "sleep"]) {
            Some("a blocking sleep")
        } else {
            None
        }
    }

    fn note(&mut self, span: Span, segments: &[String]) {
        if let Some(what) = Self::judge(segments) {
            self.found.push((
                span.start().line,
                format!("{what} (`{}`)", segments.join("::")),
            ));
        }
    }
}

impl<'ast> Visit<'ast> for ImpureUse {
    fn visit_item(&mut self, item: &'ast Item) {
        let attrs = match item {
            Item::Mod(i) => &i.attrs,
            Item::Fn(i) => &i.attrs,
            Item::Impl(i) => &i.attrs,
            Item::Use(i) => &i.attrs,
            Item::Struct(i) => &i.attrs,
            Item::Const(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = path.segments.first() {
            self.note(first.ident.span(), &segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast ItemUse) {
        let mut stack = vec![(&item.tree, Vec::<String>::new())];
        while let Some((tree, prefix)) = stack.pop() {
            match tree {
                UseTree::Path(p) => {
                    let mut next = prefix.clone();
                    next.push(p.ident.to_string());
                    stack.push((&p.tree, next));
                }
                UseTree::Name(n) => {
                    let mut full = prefix.clone();
                    full.push(n.ident.to_string());
                    self.note(n.ident.span(), &full);
                }
                UseTree::Rename(r) => {
                    let mut full = prefix.clone();
                    full.push(r.ident.to_string());
                    self.note(r.ident.span(), &full);
                }
                UseTree::Glob(_) if prefix.first().is_some_and(|s| s == "tokio") => {
                    self.found.push((0, "tokio (glob import)".to_owned()));
                }
                UseTree::Group(g) => stack.extend(g.items.iter().map(|t| (t, prefix.clone()))),
                UseTree::Glob(_) => {}
            }
        }
    }
}
