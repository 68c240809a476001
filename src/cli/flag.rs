//! The flag table: one [`Flag`] per option, the single source of its parsing,
//! its help text, its man page entry and its completions (the ripgrep model).
//!
//! A tool keeps its parsed options in an arguments type implementing
//! [`ToolArgs`]; each flag carries an `apply` function that updates it. The
//! options every tool shares (`-h`, `--help`, `--version`, `--color`, and the
//! hidden `--generate` used to write man pages and completions) live in
//! [`Common`] and are appended to every table by [`with_common`].

use std::ffi::{OsStr, OsString};

use super::ColorChoice;

/// What a flag's value names, so completions can offer the right things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Free text or a number: nothing to complete.
    Other,
    /// A file path.
    File,
    /// A directory path.
    Dir,
}

/// Whether a flag takes a value.
#[derive(Clone, Copy, Debug)]
pub enum Arity {
    /// A switch: `--compact`.
    Switch,
    /// Takes a value: `--indent N`, `--indent=N`, `-iN`.
    Value {
        /// The value's name in help text, e.g. `N` or `WHEN`.
        name: &'static str,
        /// The values it accepts, when they form a closed set.
        choices: &'static [&'static str],
        /// What the value names, for completions.
        hint: Hint,
    },
    /// Takes a value only when attached, `--color=never`; alone it means
    /// `bare`, as GNU grep's and ls's `--color` (so `--color f.json`
    /// leaves the file name alone).
    Attached {
        name: &'static str,
        choices: &'static [&'static str],
        bare: &'static str,
    },
}

/// One command-line option.
pub struct Flag<A> {
    /// The long name, without the leading `--` (`None` for a short-only
    /// flag such as `-h`).
    pub long: Option<&'static str>,
    /// The short name, if any.
    pub short: Option<char>,
    /// Whether it takes a value.
    pub arity: Arity,
    /// One line for `-h` and completions: no trailing full stop.
    pub summary: &'static str,
    /// The full description for `--help` and the man page; paragraphs are
    /// separated by blank lines, and a paragraph indented by two spaces is
    /// printed as it stands.
    pub doc: &'static str,
    /// Left out of help, man page and completions (internal flags).
    pub hidden: bool,
    /// Records the flag in the arguments: the value for [`Arity::Value`],
    /// `None` for a switch. An `Err` is a usage error naming what is wrong.
    pub apply: fn(&mut A, Option<&OsStr>) -> Result<(), String>,
}

/// What a flag's `apply` is.
pub type Apply<A> = fn(&mut A, Option<&OsStr>) -> Result<(), String>;

impl<A> Flag<A> {
    /// A switch: `--inline`, `-g`.
    pub fn switch(
        long: &'static str,
        short: Option<char>,
        summary: &'static str,
        doc: &'static str,
        apply: Apply<A>,
    ) -> Flag<A> {
        Flag {
            long: Some(long),
            short,
            arity: Arity::Switch,
            summary,
            doc,
            hidden: false,
            apply,
        }
    }

    /// A flag with a value named `name` (`--fanout N`).
    pub fn value(
        long: &'static str,
        short: Option<char>,
        (name, hint): (&'static str, Hint),
        summary: &'static str,
        doc: &'static str,
        apply: Apply<A>,
    ) -> Flag<A> {
        Flag {
            long: Some(long),
            short,
            arity: Arity::Value {
                name,
                choices: &[],
                hint,
            },
            summary,
            doc,
            hidden: false,
            apply,
        }
    }

    /// A flag whose value is one of `choices` (check it with [`choice`]).
    pub fn choice(
        long: &'static str,
        name: &'static str,
        choices: &'static [&'static str],
        summary: &'static str,
        doc: &'static str,
        apply: Apply<A>,
    ) -> Flag<A> {
        Flag {
            long: Some(long),
            short: None,
            arity: Arity::Value {
                name,
                choices,
                hint: Hint::Other,
            },
            summary,
            doc,
            hidden: false,
            apply,
        }
    }
}

/// A positional operand (e.g. `FILE...`).
#[derive(Clone, Copy, Debug)]
pub struct Positional {
    /// Its name in the synopsis.
    pub name: &'static str,
    /// What it names, for completions.
    pub hint: Hint,
}

/// Everything a tool says about itself.
pub struct Tool<A> {
    /// The binary's name.
    pub name: &'static str,
    /// One line: what the tool does.
    pub about: &'static str,
    /// Synopsis lines after the binary's name, e.g. `[OPTIONS] [FILE...]`.
    pub synopsis: &'static [&'static str],
    /// Paragraphs for `--help` and the man page's DESCRIPTION.
    pub description: &'static str,
    /// The flag table, common flags included (see [`with_common`]).
    pub flags: Vec<Flag<A>>,
    /// The positional operands.
    pub positional: Positional,
    /// The first operand ends the options: the rest is taken as written
    /// (`rrun ls -l` runs `ls -l`, as with ssh).
    pub operands_end_options: bool,
    /// The EXIT STATUS section: (code, meaning).
    pub exit_status: &'static [(&'static str, &'static str)],
    /// The ENVIRONMENT section: (variable, meaning).
    pub environment: &'static [(&'static str, &'static str)],
    /// The EXAMPLES section: (command, what it does).
    pub examples: &'static [(&'static str, &'static str)],
    /// Related commands for SEE ALSO, e.g. `jq(1)`.
    pub see_also: &'static [&'static str],
}

impl<A> Tool<A> {
    /// The flags shown to users, in table order.
    pub fn visible_flags(&self) -> impl Iterator<Item = &Flag<A>> {
        self.flags.iter().filter(|f| !f.hidden)
    }
}

/// Which help was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpLevel {
    /// `-h`: a summary line per flag.
    Short,
    /// `--help`: everything.
    Long,
}

/// The options every tool shares.
#[derive(Clone, Debug, Default)]
pub struct Common {
    /// `--color`.
    pub color: ColorChoice,
    /// `-h` or `--help`, if given.
    pub help: Option<HelpLevel>,
    /// `--version`.
    pub version: bool,
    /// `--generate KIND`: print a man page or completion script and exit.
    pub generate: Option<String>,
}

/// The arguments type of a tool.
pub trait ToolArgs: Default {
    /// The shared options inside it.
    fn common(&mut self) -> &mut Common;
    /// Records one positional operand.
    fn positional(&mut self, value: OsString) -> Result<(), String>;
}

/// What `--generate` can write.
pub const GENERATE_KINDS: &[&str] = &["man", "complete-bash", "complete-zsh", "complete-fish"];

/// Appends the flags every tool shares to a tool's own table.
pub fn with_common<A: ToolArgs>(mut flags: Vec<Flag<A>>) -> Vec<Flag<A>> {
    flags.extend([
        Flag {
            long: Some("color"),
            short: None,
            arity: Arity::Attached {
                name: "WHEN",
                choices: &["auto", "always", "never"],
                bare: "always",
            },
            summary: "When to use colour: auto, always or never",
            doc: "When to use colour. auto (the default) colours only when the output \
                  is a terminal, NO_COLOR is unset or empty and TERM is not dumb; always \
                  and never override all of that. As for GNU grep and ls, --color alone \
                  means always, and a value is given only with an equals sign \
                  (--color=never): the next word is never taken as the value.",
            hidden: false,
            apply: |a: &mut A, v| {
                a.common().color = ColorChoice::parse(text(v)?)?;
                Ok(())
            },
        },
        Flag {
            long: Some("help"),
            short: None,
            arity: Arity::Switch,
            summary: "Print the full help and exit",
            doc: "Print the full help and exit. -h prints a summary.",
            hidden: false,
            apply: |a: &mut A, _| {
                a.common().help = Some(HelpLevel::Long);
                Ok(())
            },
        },
        Flag {
            long: None,
            short: Some('h'),
            arity: Arity::Switch,
            summary: "Print a summary of the options and exit",
            doc: "Print a summary of the options and exit. --help prints everything.",
            hidden: false,
            apply: |a: &mut A, _| {
                a.common().help.get_or_insert(HelpLevel::Short);
                Ok(())
            },
        },
        Flag {
            long: Some("version"),
            short: None,
            arity: Arity::Switch,
            summary: "Print the version and exit",
            doc: "Print the version and exit.",
            hidden: false,
            apply: |a: &mut A, _| {
                a.common().version = true;
                Ok(())
            },
        },
        Flag {
            long: Some("generate"),
            short: None,
            arity: Arity::Value {
                name: "KIND",
                choices: GENERATE_KINDS,
                hint: Hint::Other,
            },
            summary: "Print the man page or a completion script",
            doc: "Print the man page (man) or a completion script (complete-bash, \
                  complete-zsh, complete-fish) generated from the flag table.",
            hidden: true,
            apply: |a: &mut A, v| {
                let kind = text(v)?;
                if !GENERATE_KINDS.contains(&kind) {
                    return Err(format!(
                        "invalid value '{kind}': expected one of {}",
                        GENERATE_KINDS.join(", ")
                    ));
                }
                a.common().generate = Some(kind.to_string());
                Ok(())
            },
        },
    ]);
    flags
}

/// The value of a flag that takes one, as UTF-8 text.
pub fn text(value: Option<&OsStr>) -> Result<&str, String> {
    let value = value.ok_or("this option needs a value")?;
    value
        .to_str()
        .ok_or_else(|| format!("value {value:?} is not valid UTF-8"))
}

/// A flag's value as a whole number in `min..=max`.
pub fn number(value: Option<&OsStr>, min: u64, max: u64) -> Result<u64, String> {
    let s = text(value)?;
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid value '{s}': expected a whole number from {min} to {max}"
        )),
    }
}

/// A flag's value, checked against a closed set.
pub fn choice<'a>(value: Option<&'a OsStr>, choices: &[&str]) -> Result<&'a str, String> {
    let v = text(value)?;
    if choices.contains(&v) {
        Ok(v)
    } else {
        let (last, rest) = choices.split_last().unwrap_or((&"", &[]));
        Err(format!(
            "invalid value '{v}': expected {} or {last}",
            rest.join(", ")
        ))
    }
}

/// A flag's value as a path.
pub fn path(value: Option<&OsStr>) -> Result<std::path::PathBuf, String> {
    value
        .map(std::path::PathBuf::from)
        .ok_or_else(|| "this option needs a value".to_string())
}

/// A flag's value as a number of seconds above 0.
pub fn seconds(value: Option<&OsStr>) -> Result<std::time::Duration, String> {
    let s = text(value)?;
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() && n <= 1e7 => Ok(std::time::Duration::from_secs_f64(n)),
        _ => Err(format!(
            "invalid value '{s}': expected a number of seconds above 0"
        )),
    }
}
