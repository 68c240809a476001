//! Host-set expressions, as clush's nodeset writes them: terms (a host
//! entry with its ranges, or `@group`) joined by `,` (union), `!`
//! (difference), `&` (intersection) and `^` (symmetric difference),
//! applied left to right with equal precedence, as ClusterShell does.
//! Whitespace between terms is a union too (`-H "web1 web2"`).

use super::groups::Groups;
use super::{ByHost, Target, parse_entry};

/// An operator between two terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Union,
    Difference,
    Intersection,
    SymmetricDifference,
}

/// Evaluates `expr` to its hosts, in order, without duplicates. Groups
/// (`@name`) come from `groups`.
pub fn evaluate(expr: &str, groups: &Groups) -> Result<Vec<Target>, String> {
    evaluate_with(expr, groups, false)
}

/// [`evaluate`] for a line of a host list file, where two terms with
/// only whitespace between them are an error: pssh's files put the user
/// after the host (`web1 root`), which must not become a host `root`.
pub fn evaluate_line(expr: &str, groups: &Groups) -> Result<Vec<Target>, String> {
    evaluate_with(expr, groups, true)
}

fn evaluate_with(expr: &str, groups: &Groups, one_per_line: bool) -> Result<Vec<Target>, String> {
    let mut set: Vec<Target> = Vec::new();
    let terms = tokens(expr)?;
    if one_per_line && let Some(w) = terms.windows(2).find(|w| w[1].0.is_none()) {
        return Err(format!(
            "'{}': one entry per line: '{}' and '{}' are separated only by a space (join hosts with commas; a user goes before the host: {}@{})",
            super::printable(expr),
            w[0].1,
            w[1].1,
            w[1].1,
            w[0].1
        ));
    }
    for (op, term) in terms {
        let op = op.unwrap_or(Op::Union);
        let hosts = if let Some(name) = term.strip_prefix('@') {
            groups.members(name)?
        } else {
            parse_entry(term)?
        };
        set = apply(set, op, hosts);
    }
    Ok(super::dedupe(set))
}

/// The terms of `expr`, each with the operator that joins it to what
/// comes before (`None`: only whitespace, a union; the first's is a
/// union with nothing).
fn tokens(expr: &str) -> Result<Vec<(Option<Op>, &str)>, String> {
    let shown = super::printable(expr);
    let mut out = Vec::new();
    let mut pending: Option<Op> = None;
    let (mut depth, mut start) = (0i32, None::<usize>);
    for (i, c) in expr.char_indices() {
        let op = match c {
            '[' => {
                depth += 1;
                None
            }
            ']' => {
                depth -= 1;
                None
            }
            ',' if depth == 0 => Some(Op::Union),
            '!' if depth == 0 => Some(Op::Difference),
            '&' if depth == 0 => Some(Op::Intersection),
            '^' if depth == 0 => Some(Op::SymmetricDifference),
            _ => None,
        };
        if op.is_none() && !(c.is_whitespace() && depth == 0) {
            start.get_or_insert(i);
            continue;
        }
        // A boundary: the term so far ends here.
        let had_term = match start.take() {
            Some(s) => {
                out.push((pending.take(), &expr[s..i]));
                true
            }
            None => false,
        };
        // As clush's nodeset: `a,,b`, `,a` and `a,` are mistakes too
        // (a host list edited by hand, one name lost).
        if let Some(op) = op {
            if !had_term && pending.is_some() {
                return Err(format!("'{shown}': two operators in a row at '{c}'"));
            }
            if out.is_empty() {
                return Err(format!("'{shown}': '{c}' with no hosts before it"));
            }
            pending = Some(op);
        }
    }
    if let Some(s) = start {
        out.push((pending.take(), &expr[s..]));
    }
    if pending.is_some() {
        return Err(format!("'{shown}': an operator with no hosts after it"));
    }
    Ok(out)
}

fn apply(set: Vec<Target>, op: Op, hosts: Vec<Target>) -> Vec<Target> {
    match op {
        Op::Union => {
            let mut set = set;
            set.extend(hosts);
            set
        }
        // `!root@h` leaves out only root@h; `!h` any user's h.
        Op::Difference => {
            let right = ByHost::new(&hosts);
            set.into_iter().filter(|t| !right.names(t)).collect()
        }
        // Either names the other (`h&root@h` and `root@h&h` agree).
        Op::Intersection => {
            let right = ByHost::new(&hosts);
            set.into_iter().filter(|t| right.shares(t)).collect()
        }
        Op::SymmetricDifference => {
            let only_right: Vec<Target> = {
                let left = ByHost::new(&set);
                hosts.iter().filter(|h| !left.shares(h)).cloned().collect()
            };
            let right = ByHost::new(&hosts);
            let mut out: Vec<Target> = set.into_iter().filter(|t| !right.shares(t)).collect();
            out.extend(only_right);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(expr: &str, groups: &Groups) -> Result<String, String> {
        Ok(evaluate(expr, groups)?
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[test]
    fn operators_apply_left_to_right() {
        let g = Groups::from_text(
            "web: web[01-04]\neu: web[01-02], db1\n# a comment\nall: @web, @eu, mail\n",
            "groups",
        );
        assert_eq!(hosts("@web!web03", &g).unwrap(), "web01 web02 web04");
        assert_eq!(hosts("@web&@eu", &g).unwrap(), "web01 web02");
        assert_eq!(hosts("@web^@eu", &g).unwrap(), "web03 web04 db1");
        assert_eq!(
            hosts("@web!web03,web03", &g).unwrap(),
            "web01 web02 web04 web03"
        );
        assert_eq!(hosts("a b,c", &g).unwrap(), "a b c");
        assert_eq!(hosts("@web ! web0[1-3]", &g).unwrap(), "web04");
        assert_eq!(hosts("root@web01,web01:2222!web01", &g).unwrap(), "");
        assert_eq!(hosts("root@web01,web01!root@web01", &g).unwrap(), "web01");
        // Intersection and symmetric difference agree either way round.
        assert_eq!(hosts("root@h&h", &g).unwrap(), "root@h");
        assert_eq!(hosts("h&root@h", &g).unwrap(), "h");
        assert_eq!(hosts("h:22^h", &g).unwrap(), "");
        assert_eq!(
            hosts("@all", &g).unwrap(),
            "web01 web02 web03 web04 db1 mail"
        );
        assert!(
            hosts("!web1", &g)
                .unwrap_err()
                .contains("no hosts before it")
        );
        assert!(
            hosts("web1!", &g)
                .unwrap_err()
                .contains("no hosts after it")
        );
        assert!(
            hosts("web1!&web2", &g)
                .unwrap_err()
                .contains("two operators")
        );
        assert!(hosts("@nope", &g).unwrap_err().contains("no group 'nope'"));
    }
}
