//! No webrtc-rs type in a public item of a shipped crate.
//!
//! The adapters translate webrtc-rs into our own types once; if an upstream type shows up
//! in a public signature, field, variant, alias, re-export or trait impl, swapping the
//! layer out would break users. Items are public when marked plain `pub` (the workspace
//! lint `unreachable_pub` keeps that honest). Trait impls count unless they are for a type
//! the crate keeps private (an internal `impl webrtc_util::Conn for Endpoint` is fine).

use std::collections::HashSet;
use std::path::Path;

use syn::visit::Visit;
use syn::{Attribute, ImplItem, Item, Path as SynPath, TraitItem, UseTree, Visibility};

use super::layers::{Layer, Workspace};
use super::{Violation, relative, rust_files};

/// Every public item naming a webrtc-rs type, in every crate that is not test support.
pub(crate) fn check(workspace: &Workspace) -> Vec<Violation> {
    let mut violations = Vec::new();
    for krate in &workspace.crates {
        if matches!(krate.layer, None | Some(Layer::Support)) {
            continue;
        }
        let upstream = krate.upstream_code_names.clone();
        if upstream.is_empty() {
            continue;
        }
        let files: Vec<_> = rust_files(&krate.dir.join("src"))
            .into_iter()
            .filter_map(|path| Some((parse(&path)?, path)))
            .collect();
        let private_types: HashSet<String> = files
            .iter()
            .flat_map(|(file, _)| private_type_names(&file.items))
            .collect();
        for (file, path) in &files {
            let mut scope = Scope {
                upstream: upstream.clone(),
                private_types: &private_types,
            };
            scope.import(&file.items);
            for (item, what) in scope.leaks(&file.items) {
                violations.push(Violation {
                    rule: "public-api",
                    location: relative(&workspace.root, path),
                    message: format!("public {what} `{item}` names a webrtc-rs type"),
                });
            }
        }
    }
    violations
}

fn parse(path: &Path) -> Option<syn::File> {
    syn::parse_file(&std::fs::read_to_string(path).ok()?).ok()
}

fn is_public(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

pub(super) fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

fn private_type_names(items: &[Item]) -> Vec<String> {
    let mut names = Vec::new();
    for item in items {
        let (vis, ident) = match item {
            Item::Struct(i) => (&i.vis, &i.ident),
            Item::Enum(i) => (&i.vis, &i.ident),
            Item::Type(i) => (&i.vis, &i.ident),
            Item::Trait(i) => (&i.vis, &i.ident),
            Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    names.extend(private_type_names(inner));
                }
                continue;
            }
            _ => continue,
        };
        if !is_public(vis) {
            names.push(ident.to_string());
        }
    }
    names
}

/// What is in scope in one file: upstream crate names and what was imported from them.
struct Scope<'a> {
    upstream: HashSet<String>,
    private_types: &'a HashSet<String>,
}

impl Scope<'_> {
    /// Adds the idents `use` statements bind to upstream items.
    fn import(&mut self, items: &[Item]) {
        for item in items {
            match item {
                Item::Use(u) => {
                    let mut bound = Vec::new();
                    collect_bindings(&u.tree, false, &self.upstream, &mut bound);
                    self.upstream.extend(bound);
                }
                Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        self.import(inner);
                    }
                }
                _ => {}
            }
        }
    }

    fn names_upstream(&self, path: &SynPath) -> bool {
        path.segments
            .first()
            .is_some_and(|s| self.upstream.contains(&s.ident.to_string()))
    }

    /// Runs `visit` over some syntax and tells whether it met an upstream path.
    fn mentions_upstream(&self, visit: impl FnOnce(&mut Finder<'_>)) -> bool {
        let mut finder = Finder {
            scope: self,
            found: false,
        };
        visit(&mut finder);
        finder.found
    }

    /// Public items of `items` (recursively) that mention upstream types: (name, kind).
    fn leaks(&self, items: &[Item]) -> Vec<(String, &'static str)> {
        let mut leaks = Vec::new();
        for item in items {
            let (name, kind, leaky) = match item {
                Item::Mod(m) if !is_cfg_test(&m.attrs) => {
                    if let Some((_, inner)) = &m.content {
                        leaks.extend(self.leaks(inner));
                    }
                    continue;
                }
                Item::Use(u) if is_public(&u.vis) => {
                    let mut names = Vec::new();
                    collect_bindings(&u.tree, false, &self.upstream, &mut names);
                    leaks.extend(names.into_iter().map(|n| (n, "re-export")));
                    continue;
                }
                Item::Impl(i) if !is_cfg_test(&i.attrs) => {
                    leaks.extend(self.impl_leaks(i));
                    continue;
                }
                Item::Fn(f) if is_public(&f.vis) => (
                    &f.sig.ident,
                    "function",
                    self.mentions_upstream(|v| v.visit_signature(&f.sig)),
                ),
                Item::Struct(s) if is_public(&s.vis) => {
                    let leaky = self.mentions_upstream(|v| {
                        s.fields
                            .iter()
                            .filter(|f| is_public(&f.vis))
                            .for_each(|f| v.visit_type(&f.ty));
                        v.visit_generics(&s.generics);
                    });
                    (&s.ident, "struct", leaky)
                }
                Item::Enum(e) if is_public(&e.vis) => (
                    &e.ident,
                    "enum",
                    self.mentions_upstream(|v| v.visit_item_enum(e)),
                ),
                Item::Type(t) if is_public(&t.vis) => (
                    &t.ident,
                    "type alias",
                    self.mentions_upstream(|v| v.visit_type(&t.ty)),
                ),
                Item::Const(c) if is_public(&c.vis) => (
                    &c.ident,
                    "const",
                    self.mentions_upstream(|v| v.visit_type(&c.ty)),
                ),
                Item::Static(s) if is_public(&s.vis) => (
                    &s.ident,
                    "static",
                    self.mentions_upstream(|v| v.visit_type(&s.ty)),
                ),
                Item::Trait(t) if is_public(&t.vis) => {
                    let leaky = self.mentions_upstream(|v| {
                        t.supertraits
                            .iter()
                            .for_each(|bound| v.visit_type_param_bound(bound));
                        for item in &t.items {
                            match item {
                                TraitItem::Fn(f) => v.visit_signature(&f.sig),
                                TraitItem::Type(ty) => v.visit_trait_item_type(ty),
                                TraitItem::Const(c) => v.visit_type(&c.ty),
                                _ => {}
                            }
                        }
                    });
                    (&t.ident, "trait", leaky)
                }
                _ => continue,
            };
            if leaky {
                leaks.push((name.to_string(), kind));
            }
        }
        leaks
    }

    fn impl_leaks(&self, block: &syn::ItemImpl) -> Vec<(String, &'static str)> {
        let self_name = match &*block.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let self_name = self_name.unwrap_or_default();
        if self.private_types.contains(&self_name) {
            return Vec::new();
        }
        if let Some((_, trait_path, _)) = &block.trait_ {
            let leaky = self.mentions_upstream(|v| v.visit_path(trait_path))
                || self.mentions_upstream(|v| v.visit_type(&block.self_ty));
            let name = format!("{} for {self_name}", quote_path(trait_path));
            return if leaky {
                vec![(name, "trait impl")]
            } else {
                Vec::new()
            };
        }
        block
            .items
            .iter()
            .filter_map(|item| match item {
                ImplItem::Fn(f) if is_public(&f.vis) => Some(f),
                _ => None,
            })
            .filter(|f| self.mentions_upstream(|v| v.visit_signature(&f.sig)))
            .map(|f| (format!("{self_name}::{}", f.sig.ident), "method"))
            .collect()
    }
}

/// `a::b::C<..>` as written, generic arguments elided.
fn quote_path(path: &SynPath) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|s| match s.arguments {
            syn::PathArguments::None => s.ident.to_string(),
            _ => format!("{}<..>", s.ident),
        })
        .collect();
    segments.join("::")
}

/// Idents a `use` tree binds to items under an upstream crate root.
fn collect_bindings(
    tree: &UseTree,
    under_upstream: bool,
    upstream: &HashSet<String>,
    out: &mut Vec<String>,
) {
    match tree {
        UseTree::Path(p) => {
            let root = under_upstream || upstream.contains(&p.ident.to_string());
            collect_bindings(&p.tree, root, upstream, out);
        }
        UseTree::Name(n) if under_upstream => out.push(n.ident.to_string()),
        UseTree::Rename(r) if under_upstream => out.push(r.rename.to_string()),
        UseTree::Group(g) => {
            for tree in &g.items {
                collect_bindings(tree, under_upstream, upstream, out);
            }
        }
        _ => {}
    }
}

/// Visits type syntax and notes any path rooted in an upstream name.
struct Finder<'a> {
    scope: &'a Scope<'a>,
    found: bool,
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_path(&mut self, path: &'ast SynPath) {
        if self.scope.names_upstream(path) {
            self.found = true;
        }
        syn::visit::visit_path(self, path);
    }
}
