//! Every path a source file names, with its line and the inline module it sits in.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// One path as written: `crate::api::x::f`, `::tonic::Status`, `super::b::g`.
#[derive(Debug, Clone)]
pub struct Named {
    pub segments: Vec<String>,
    pub leading_colon: bool,
    pub line: usize,
    /// The inline modules (`mod x { .. }`) around it, relative to the file's own module.
    pub scope: Vec<String>,
}

impl Named {
    pub fn text(&self) -> String {
        let joined = self.segments.join("::");
        if self.leading_colon {
            format!("::{joined}")
        } else {
            joined
        }
    }
}

/// A `mod` item: `inline` for `mod x { .. }`, else `mod x;` (its own file).
#[derive(Debug)]
pub struct Declared {
    pub scope: Vec<String>,
    pub name: String,
    pub inline: bool,
}

/// Collects every path of a file: `use` trees, expression, type, bound, pattern and macro
/// paths, the paths inside macro and attribute arguments (syn leaves those as tokens, so they
/// are scanned for `a::b` runs), and `extern crate`.
#[derive(Debug, Default)]
pub struct Collector {
    /// Leave out `#[cfg(test)]` modules (the module graph does; purity does not).
    pub skip_tests: bool,
    scope: Vec<String>,
    pub named: Vec<Named>,
    pub declared: Vec<Declared>,
}

impl Collector {
    pub fn collect(file: &syn::File, skip_tests: bool) -> Collector {
        let mut collector = Collector {
            skip_tests,
            ..Collector::default()
        };
        collector.visit_file(file);
        collector
    }

    fn push(&mut self, segments: Vec<String>, leading_colon: bool, line: usize) {
        if !segments.is_empty() {
            let scope = self.scope.clone();
            self.named.push(Named {
                segments,
                leading_colon,
                line,
                scope,
            });
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>, leading_colon: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix, leading_colon);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.use_leaf(prefix, Some(&n.ident), leading_colon),
            syn::UseTree::Rename(r) => self.use_leaf(prefix, Some(&r.ident), leading_colon),
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                self.push(prefix.clone(), leading_colon, line);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(tree, prefix, leading_colon);
                }
            }
        }
    }

    /// `use a::b::{self, c}`: `self` names `a::b` itself.
    fn use_leaf(&mut self, prefix: &[String], ident: Option<&syn::Ident>, leading_colon: bool) {
        let mut segments = prefix.to_vec();
        let mut line = 0;
        if let Some(ident) = ident {
            line = ident.span().start().line;
            if ident != "self" {
                segments.push(ident.to_string());
            }
        }
        self.push(segments, leading_colon, line);
    }

    /// Runs of `ident (:: ident)+` (or `::ident ...`) in a macro's or attribute's tokens.
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            if let TokenTree::Group(group) = &tokens[i] {
                self.scan(group.stream());
                i += 1;
                continue;
            }
            let start = i;
            let after_ident = i > 0 && matches!(tokens[i - 1], TokenTree::Ident(_));
            let leading_colon = colons(&tokens, i) && !after_ident;
            if leading_colon {
                i += 2;
            }
            let (mut segments, mut line) = (Vec::new(), 0);
            while let Some(TokenTree::Ident(ident)) = tokens.get(i) {
                if segments.is_empty() {
                    line = ident.span().start().line;
                }
                segments.push(ident.to_string());
                i += 1;
                if colons(&tokens, i) && matches!(tokens.get(i + 2), Some(TokenTree::Ident(_))) {
                    i += 2;
                } else {
                    break;
                }
            }
            if segments.len() > 1 || leading_colon {
                self.push(segments, leading_colon, line);
            }
            if i == start {
                i += 1;
            }
        }
    }
}

fn colons(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

/// `#[cfg(test)]`.
pub fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| match &attr.meta {
        syn::Meta::List(list) => list.path.is_ident("cfg") && list.tokens.to_string() == "test",
        _ => false,
    })
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if self.skip_tests && is_cfg_test(&item.attrs) {
            return;
        }
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        let name = item.ident.to_string();
        let inline = item.content.is_some();
        self.declared.push(Declared {
            scope: self.scope.clone(),
            name: name.clone(),
            inline,
        });
        if let Some((_, items)) = &item.content {
            self.scope.push(name);
            for item in items {
                self.visit_item(item);
            }
            self.scope.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.use_tree(&item.tree, &mut Vec::new(), item.leading_colon.is_some());
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let line = item.ident.span().start().line;
        self.push(vec![item.ident.to_string()], false, line);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = path
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        self.push(segments, path.leading_colon.is_some(), line);
        visit::visit_path(self, path);
    }

    // What syn keeps as tokens (`use {::a, b};`, newer syntax) is scanned like a macro's body.
    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Verbatim(tokens) => self.scan(tokens.clone()),
            _ => visit::visit_item(self, item),
        }
    }

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        match expr {
            syn::Expr::Verbatim(tokens) => self.scan(tokens.clone()),
            _ => visit::visit_expr(self, expr),
        }
    }

    fn visit_type(&mut self, ty: &'ast syn::Type) {
        match ty {
            syn::Type::Verbatim(tokens) => self.scan(tokens.clone()),
            _ => visit::visit_type(self, ty),
        }
    }

    /// `pub(crate)`, `pub(in crate::x)` say who may see an item, not what it depends on.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.scan(mac.tokens.clone());
    }

    fn visit_meta_list(&mut self, list: &'ast syn::MetaList) {
        self.visit_path(&list.path);
        self.scan(list.tokens.clone());
    }
}

/// The module a path leads into, as an absolute module path, when it is one of the crate's
/// own: `crate::..`, `self::..`, `super::..` (relative to `here`), or a bare path of two or
/// more segments whose first one is a module declared in `here` (`is_module(here + first)`).
pub fn absolute(
    named: &Named,
    here: &[String],
    is_module: impl Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    if named.leading_colon {
        return None;
    }
    let segments = &named.segments;
    let first = segments.first()?.as_str();
    if first == "crate" {
        return Some(segments[1..].to_vec());
    }
    if first == "self" || first == "super" {
        let mut at = here.to_vec();
        let mut rest = &segments[..];
        if first == "self" {
            rest = &rest[1..];
        }
        while rest.first().is_some_and(|s| s == "super") {
            at.pop()?;
            rest = &rest[1..];
        }
        at.extend(rest.iter().cloned());
        return Some(at);
    }
    let mut child = here.to_vec();
    child.push(first.to_owned());
    (segments.len() > 1 && is_module(&child)).then(|| {
        child.extend(segments[1..].iter().cloned());
        child
    })
}
