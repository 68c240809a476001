//! Host groups: the group files (`~/.config/fleetkit/groups`, then
//! `/etc/fleetkit/groups`), each line `name: hosts`, where hosts is a
//! host-set expression that may name other groups (`web: web[01-20]`,
//! `eu: @web!web07, db1`), and resolving `@name` and `@all` with cycles
//! refused. Files are read only when a group is first named.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use super::Target;
use super::expr::evaluate;
use crate::located::LineError;

/// How deep groups may name groups: deeper is surely a mistake, and
/// resolving recurses.
const MAX_DEPTH: usize = 64;

/// One group's definition and where it is.
#[derive(Debug, Clone)]
struct Definition {
    origin: String,
    line: usize,
    hosts: String,
}

/// The definitions read, in file order; a name's first definition wins
/// (the user's file before the system's).
#[derive(Debug, Default)]
struct Table {
    order: Vec<String>,
    defs: HashMap<String, Definition>,
}

/// Where groups come from.
#[derive(Debug)]
enum Source {
    Files(Vec<PathBuf>),
    Text(String, String),
}

/// The groups a run may name.
#[derive(Debug)]
pub struct Groups {
    source: Source,
    table: OnceLock<Result<Table, String>>,
    /// The groups being resolved, innermost last: a name met again is a
    /// cycle.
    resolving: Mutex<Vec<String>>,
    /// Groups already resolved: a group named by many others is
    /// expanded once.
    resolved: Mutex<HashMap<String, Vec<Target>>>,
}

impl Default for Groups {
    fn default() -> Groups {
        Groups::standard()
    }
}

impl Groups {
    /// The standard files: `$XDG_CONFIG_HOME/fleetkit/groups` (or
    /// `~/.config/fleetkit/groups`), then `/etc/fleetkit/groups`.
    pub fn standard() -> Groups {
        let mut files = Vec::new();
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        if let Some(dir) = config {
            files.push(dir.join("fleetkit/groups"));
        }
        files.push(PathBuf::from("/etc/fleetkit/groups"));
        Groups::new(Source::Files(files))
    }

    /// Groups defined by `text`, as if it were the file `origin` (for
    /// tests and the fuzzer).
    pub fn from_text(text: &str, origin: &str) -> Groups {
        Groups::new(Source::Text(text.to_string(), origin.to_string()))
    }

    fn new(source: Source) -> Groups {
        Groups {
            source,
            table: OnceLock::new(),
            resolving: Mutex::new(Vec::new()),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Where groups are read from, for messages.
    fn places(&self) -> String {
        match &self.source {
            Source::Files(files) => files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Source::Text(_, origin) => origin.clone(),
        }
    }

    fn table(&self) -> Result<&Table, String> {
        self.table
            .get_or_init(|| {
                let mut table = Table::default();
                match &self.source {
                    Source::Text(text, origin) => read(&mut table, text, origin)?,
                    Source::Files(files) => {
                        for f in files {
                            // Groups decide where commands (and a sudo
                            // password) go: a file another user could
                            // write is refused, as ssh refuses such a
                            // config.
                            if let Ok(meta) = std::fs::metadata(f)
                                && crate::ssh::config::another_user_could_write(&meta)
                            {
                                return Err(format!(
                                    "{}: bad owner or permissions: another user could write it, and it says where commands run",
                                    f.display()
                                ));
                            }
                            let text = match std::fs::read(f) {
                                Ok(bytes) => String::from_utf8(bytes)
                                    .map_err(|_| format!("{}: not UTF-8 text", f.display()))?,
                                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                                Err(e) => {
                                    return Err(format!(
                                        "{}: cannot read groups: {}",
                                        f.display(),
                                        crate::ssh::session::plain_error(&e)
                                    ));
                                }
                            };
                            read(&mut table, &text, &f.display().to_string())?;
                        }
                    }
                }
                Ok(table)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The hosts of group `name` (`all`: the group of that name, or else
    /// every group's hosts).
    pub fn members(&self, name: &str) -> Result<Vec<Target>, String> {
        if let Some(hosts) = self.resolved.lock().expect("groups lock").get(name) {
            return Ok(hosts.clone());
        }
        let table = self.table()?;
        let def = match table.defs.get(name) {
            Some(def) => def.clone(),
            None if name == "all" => {
                let mut all = Vec::new();
                for n in &table.order {
                    all.extend(self.members(n)?);
                }
                return Ok(super::dedupe(all));
            }
            None => {
                return Err(format!(
                    "no group '{name}' (groups are read from {})",
                    self.places()
                ));
            }
        };
        {
            let mut stack = self.resolving.lock().expect("groups lock");
            if let Some(at) = stack.iter().position(|n| n == name) {
                let mut cycle = stack[at..].to_vec();
                cycle.push(name.to_string());
                // Where the cycle closes: the group that names `name`.
                let closer = stack.last().and_then(|n| table.defs.get(n)).unwrap_or(&def);
                let (origin, line) = (closer.origin.clone(), closer.line);
                stack.clear();
                return Err(format!(
                    "{origin}:{line}: groups name each other in a cycle: @{}",
                    cycle.join(" -> @")
                ));
            }
            if stack.len() >= MAX_DEPTH {
                let at = format!("{}:{}", def.origin, def.line);
                stack.clear();
                return Err(format!(
                    "{at}: groups nest more than {MAX_DEPTH} deep (at @{name})"
                ));
            }
            stack.push(name.to_string());
        }
        let hosts = evaluate(&def.hosts, self);
        self.resolving.lock().expect("groups lock").pop();
        if let Ok(h) = &hosts {
            self.resolved
                .lock()
                .expect("groups lock")
                .insert(name.to_string(), h.clone());
        }
        hosts.map_err(|e| {
            if e.contains("groups name each other") || e.starts_with(&def.origin) {
                e
            } else {
                format!("{}:{}: group '{name}': {e}", def.origin, def.line)
            }
        })
    }

    /// Every group with its hosts, in file order (`--list-groups`).
    pub fn list(&self) -> Result<Vec<(String, Vec<Target>)>, String> {
        let table = self.table()?;
        table
            .order
            .iter()
            .map(|n| Ok((n.clone(), self.members(n)?)))
            .collect()
    }
}

/// Reads one file's definitions into `table`; a name already defined (by
/// an earlier file) keeps its first definition.
fn read(table: &mut Table, text: &str, origin: &str) -> Result<(), String> {
    let mut here: HashMap<String, usize> = HashMap::new();
    // A byte order mark, as Windows editors write, is not part of a name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (n, line) in text.lines().enumerate() {
        let at = |message: String| {
            LineError {
                origin: origin.to_string(),
                line: n + 1,
                message,
            }
            .to_string()
        };
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, hosts)) = line.split_once(':') else {
            return Err(at(format!(
                "'{line}': expected 'name: hosts' (web: web[01-20], @other)"
            )));
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(at(format!(
                "'{name}' is not a group name (letters, digits, - _ .)"
            )));
        }
        if let Some(first) = here.insert(name.to_string(), n + 1) {
            return Err(at(format!(
                "group '{name}' is defined twice in this file (first at line {first})"
            )));
        }
        if !table.defs.contains_key(name) {
            table.order.push(name.to_string());
            table.defs.insert(
                name.to_string(),
                Definition {
                    origin: origin.to_string(),
                    line: n + 1,
                    hosts: hosts.trim().to_string(),
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_bad_lines_are_errors_naming_the_line() {
        let g = Groups::from_text("a: x1, @b\nb: @c\nc: @a\n", "g");
        let e = g.members("a").unwrap_err();
        assert_eq!(
            e,
            "g:3: groups name each other in a cycle: @a -> @b -> @c -> @a"
        );
        // The stack is clean afterwards.
        assert!(g.members("a").is_err());
        let g = Groups::from_text("ok: a\nbad line\n", "g");
        assert!(g.members("ok").unwrap_err().starts_with("g:2: 'bad line'"));
        let g = Groups::from_text("a: x\na: y\n", "g");
        assert!(g.members("a").unwrap_err().contains("defined twice"));
        let g = Groups::from_text("a: x[\n", "g");
        assert!(g.members("a").unwrap_err().starts_with("g:1: group 'a': "));
        let g = Groups::from_text("self: @self\n", "g");
        assert!(g.members("self").unwrap_err().contains("@self -> @self"));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut text = "g0: a\n".to_string();
        for i in 1..200 {
            text.push_str(&format!("g{i}: @g{}\n", i - 1));
        }
        let g = Groups::from_text(&text, "g");
        assert!(
            g.members("g199")
                .unwrap_err()
                .contains("nest more than 64 deep")
        );
        assert_eq!(g.members("g50").unwrap().len(), 1);
    }

    #[test]
    fn list_in_file_order() {
        let g = Groups::from_text("web: w[1-2]\ndb: d1\n", "g");
        let names: Vec<String> = g.list().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["web", "db"]);
    }
}
