//! The module layering, checked from the sources: every `crate::` path a
//! module names goes to a module of its own layer or a lower one, and the
//! graph of those references has no cycle (see the crate docs in lib.rs).
//! Test modules (`#[cfg(test)] mod tests`) are left out: tests may reach
//! anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of every module, by path under `crate::`.  A module missing
/// here fails the test: each new module is placed deliberately.
const LAYERS: &[(&str, u32)] = &[
    ("arch", 0),
    ("arch::x86_64", 0),
    ("arch::aarch64", 0),
    ("asan", 0),
    ("config", 0),
    ("copies", 0),
    ("diag", 0),
    ("segmap", 0),
    ("stats", 0),
    ("sync", 0),
    ("sys", 0),
    ("valgrind", 0),
    ("layout", 1),
    ("thread_state", 1),
    ("limit", 1),
    ("alloc", 2),
    ("alloc::classes", 2),
    ("alloc::default", 2),
    ("alloc::guard", 2),
    ("alloc::meta", 2),
    ("alloc::os", 2),
    ("alloc::pool", 2),
    ("alloc::slab", 2),
    ("alloc::user", 2),
    ("runtime_stack", 2),
    ("alloca", 3),
    ("chain", 3),
    ("context_sizing", 3),
    ("interrupt", 3),
    ("overrun", 3),
    ("thread", 3),
    ("ffi", 4),
    ("ffi::context", 4),
    ("ffi::hooks", 4),
    ("ffi::interrupt", 4),
    ("ffi::libgcc", 4),
    ("ffi::settings", 4),
    ("ffi::thread", 4),
    ("ffi::types", 4),
    ("ffi::walk", 4),
];

/// Files that are not part of the layered runtime.
const SKIP: &[&str] = &["lib.rs", "tests.rs", "layering.rs"];

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().map(|s| s == "mod").unwrap_or(false) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().map(|x| x == "rs").unwrap_or(false) {
            out.push(p);
        }
    }
}

/// The source without comments, string literals and `#[cfg(test)]` items.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let trimmed = code.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = code.matches('{').count() as i32;
        let closes = code.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() && !trimmed.is_empty() {
            pending_test = false;
            if opens > closes {
                skip_depth = Some(depth);
            } else {
                continue; // a one-line test-only item
            }
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        // Drop string literals (messages mention paths like `crate::x`).
        let mut s = String::new();
        let mut in_str = false;
        let mut prev = ' ';
        for c in code.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                s.push(c);
            }
            prev = c;
        }
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// Every module a file refers to: `crate::a::b` paths, `use crate::{a,
/// b::c}` groups, and `super::x` from inside a directory module.
fn references(module: &str, text: &str, known: &BTreeSet<&str>) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let resolve = |path: &str, refs: &mut BTreeSet<String>| {
        // The longest known module that prefixes the path.
        let segs: Vec<&str> = path.split("::").map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
        for n in (1..=segs.len()).rev() {
            let cand = segs[..n].join("::");
            if known.contains(cand.as_str()) {
                refs.insert(cand);
                return;
            }
        }
    };
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(prefix) {
            rest = &rest[i + prefix.len()..];
            let base_path = if base.is_empty() { String::new() } else { format!("{base}::") };
            if rest.starts_with('{') {
                let end = rest.find('}').unwrap_or(rest.len());
                for item in rest[1..end].split(',') {
                    let item = item.trim().split(' ').next().unwrap_or("");
                    resolve(&format!("{base_path}{item}"), &mut refs);
                }
            } else {
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
                let path = rest[..end].trim_end_matches(':');
                if let Some(group) = rest[end..].strip_prefix('{').or_else(|| rest[end..].strip_prefix(" {")) {
                    if path.ends_with("::") || rest[..end].ends_with("::") {
                        let gend = group.find('}').unwrap_or(group.len());
                        for item in group[..gend].split(',') {
                            let item = item.trim().split(' ').next().unwrap_or("");
                            resolve(&format!("{base_path}{path}::{item}"), &mut refs);
                        }
                        continue;
                    }
                }
                resolve(&format!("{base_path}{path}"), &mut refs);
            }
        }
    }
    refs.remove(module);
    refs
}

fn parent(module: &str) -> String {
    match module.rfind("::") {
        Some(i) => module[..i].to_string(),
        None => String::new(),
    }
}

#[test]
fn layering() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let known: BTreeSet<&str> = layers.keys().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut errors = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        if f.parent() == Some(src.as_path()) && SKIP.contains(&name.as_ref()) {
            continue;
        }
        let module = module_of(&src, f);
        let Some(&layer) = layers.get(module.as_str()) else {
            errors.push(format!("module {module} has no layer in layering.rs"));
            continue;
        };
        let text = strip(&std::fs::read_to_string(f).unwrap());
        let refs = references(&module, &text, &known);
        for r in &refs {
            let rl = layers[r.as_str()];
            // A module may use its own submodules (a directory's front end).
            let own_child = r.starts_with(&format!("{module}::"));
            if rl > layer && !own_child {
                errors.push(format!("{module} (L{layer}) uses {r} (L{rl}), a higher layer"));
            }
        }
        graph.insert(module, refs);
    }
    // No cycle (depth-first search).
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
        errors: &mut Vec<String>,
    ) {
        match state.get(n) {
            Some(2) => return,
            Some(1) => {
                let i = path.iter().position(|p| *p == n).unwrap();
                errors.push(format!("cycle: {} -> {n}", path[i..].join(" -> ")));
                return;
            }
            _ => {}
        }
        state.insert(n, 1);
        path.push(n);
        if let Some(es) = g.get(n) {
            for e in es {
                visit(e, g, state, path, errors);
            }
        }
        path.pop();
        state.insert(n, 2);
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        visit(n, &graph, &mut state, &mut Vec::new(), &mut errors);
    }
    assert!(errors.is_empty(), "layering violations:\n{}", errors.join("\n"));
    // The test must see the graph it claims to check.
    assert!(graph.len() >= 30, "only {} modules found", graph.len());
    assert!(graph["chain"].contains("alloc"), "the reference scanner misses `use crate::` paths");
    assert!(graph["alloc::default"].contains("alloc::pool"), "the reference scanner misses `super::` paths");
}
