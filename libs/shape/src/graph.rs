//! Each service's module graph: no circles, and the layers named in one direction.

use crate::paths::{Collector, Named, absolute};
use crate::purity::NOTHING_ELSE;
use crate::{Report, Violation, parse};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// One path in `from`'s file that leads into `to`'s file.
#[derive(Debug)]
struct Edge {
    from: Module,
    to: Module,
    file: PathBuf,
    line: usize,
    path: String,
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

fn under(module: &[String], top: &str) -> bool {
    module.first().is_some_and(|first| first == top)
}

/// Checks the crate whose `lib.rs` is in `src`; `root` makes the reported paths relative.
pub fn check_crate(report: &mut Report, root: &Path, src: &Path) {
    // Every module (file or inline) → the file module it lives in.
    let mut owner: BTreeMap<Module, Module> = BTreeMap::from([(Vec::new(), Vec::new())]);
    let mut files: Vec<(Module, PathBuf, Vec<Named>)> = Vec::new();
    let mut queue = vec![(Vec::new(), src.join("lib.rs"))];
    while let Some((module, path)) = queue.pop() {
        let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let Some(file) = parse(report, &shown, &path) else {
            continue;
        };
        let collected = Collector::collect(&file, true);
        for declared in &collected.declared {
            let mut child = [&module[..], &declared.scope].concat();
            child.push(declared.name.clone());
            if declared.inline {
                owner.insert(child, module.clone());
                continue;
            }
            let base = child.iter().fold(src.to_path_buf(), |dir, s| dir.join(s));
            let found = Some(base.with_extension("rs"))
                .filter(|flat| flat.is_file())
                .unwrap_or_else(|| base.join("mod.rs"));
            if found.is_file() {
                owner.insert(child.clone(), child.clone());
                queue.push((child, found));
            }
        }
        files.push((module, shown, collected.named));
    }

    let mut edges = Vec::new();
    for (module, file, named) in &files {
        for named in named {
            let here = [&module[..], &named.scope].concat();
            let Some(target) = absolute(named, &here, |m| owner.contains_key(m)) else {
                continue;
            };
            let to = (0..=target.len())
                .rev()
                .find_map(|n| owner.get(&target[..n]));
            if let Some(to) = to.filter(|to| *to != module) {
                let (from, to, file) = (module.clone(), to.clone(), file.clone());
                let (line, path) = (named.line, named.text());
                edges.push(Edge {
                    from,
                    to,
                    file,
                    line,
                    path,
                });
            }
        }
    }
    layers(report, &edges);
    cycles(report, &edges);
}

/// The rule an edge breaks, if any.
fn broken(from: &[String], to: &[String]) -> Option<&'static str> {
    if under(from, "domain") && !under(to, "domain") {
        return Some(NOTHING_ELSE);
    }
    if under(from, "store") && (under(to, "api") || under(to, "events")) {
        return Some("store names neither api nor events");
    }
    if under(to, "api") && !under(from, "api") && !from.is_empty() {
        return Some("only api's own modules and the crate root name api");
    }
    if under(to, "events") && !under(from, "events") && !from.is_empty() {
        return Some(
            "only the crate root names events (the consumer adapter); event kinds live below the application layer",
        );
    }
    None
}

fn layers(report: &mut Report, edges: &[Edge]) {
    for edge in edges {
        if let Some(why) = broken(&edge.from, &edge.to) {
            let what = format!("{} names {} with", name(&edge.from), name(&edge.to));
            report.push(Violation::new(
                &edge.file, edge.line, &what, &edge.path, why,
            ));
        }
    }
}

fn cycles(report: &mut Report, edges: &[Edge]) {
    let mut first: BTreeMap<(&Module, &Module), &Edge> = BTreeMap::new();
    for edge in edges {
        first.entry((&edge.from, &edge.to)).or_insert(edge);
    }
    // A parent naming its own descendants is the module's face (routing to its children,
    // re-exporting them): it never closes a cycle, even when a child uses an item the parent
    // declares for the children (`super::AllocationError`).
    let counted: Vec<&Edge> = first
        .values()
        .copied()
        .filter(|e| !e.to.starts_with(&e.from))
        .collect();
    let nodes: BTreeSet<&Module> = counted.iter().flat_map(|e| [&e.from, &e.to]).collect();
    let mut done = BTreeSet::new();
    for node in nodes {
        if done.contains(node) {
            continue;
        }
        let members: BTreeSet<&Module> = reach(&counted, node)
            .into_iter()
            .filter(|m| reach(&counted, m).contains(node))
            .collect();
        done.extend(members.iter().copied());
        if members.len() < 2 {
            continue;
        }
        let inside: Vec<&Edge> = counted
            .iter()
            .copied()
            .filter(|e| members.contains(&e.from) && members.contains(&e.to))
            .collect();
        let listed: Vec<String> = inside
            .iter()
            .map(|e| {
                format!(
                    "{} → {} ({}:{} `{}`)",
                    name(&e.from),
                    name(&e.to),
                    e.file.display(),
                    e.line,
                    e.path
                )
            })
            .collect();
        let cycle = members
            .iter()
            .map(|m| name(m))
            .collect::<Vec<_>>()
            .join(", ");
        let why = format!(
            "modules name each other one way only; edges: {}",
            listed.join("; ")
        );
        if let Some(at) = inside.first() {
            report.push(Violation::new(
                &at.file,
                at.line,
                "modules in a cycle",
                &cycle,
                &why,
            ));
        }
    }
}

/// The modules `from` reaches over `counted`, itself included.
fn reach<'a>(counted: &[&'a Edge], from: &'a Module) -> BTreeSet<&'a Module> {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(at) = stack.pop() {
        for edge in counted.iter().filter(|e| &e.from == at) {
            if seen.insert(&edge.to) {
                stack.push(&edge.to);
            }
        }
    }
    seen
}
