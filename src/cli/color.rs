//! When to colour: `--color=auto|always|never`, `NO_COLOR`, `TERM=dumb` and
//! terminal detection, decided separately for each output stream.

use std::io::IsTerminal;

/// What the user asked for with `--color` (or a tool's `-C`/`-M`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and the environment allows it.
    #[default]
    Auto,
    /// Always colour, whatever the stream or environment.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Parses the value of `--color`.
    pub fn parse(value: &str) -> Result<ColorChoice, String> {
        match value {
            // GNU grep's and ls's synonyms too.
            "auto" | "tty" | "if-tty" => Ok(ColorChoice::Auto),
            "always" | "yes" | "force" => Ok(ColorChoice::Always),
            "never" | "no" | "none" => Ok(ColorChoice::Never),
            other => Err(format!(
                "invalid value '{other}': expected auto, always or never"
            )),
        }
    }

    /// Whether to colour a stream that is (or is not) a terminal.
    ///
    /// An explicit choice wins over the environment, as `--color` is the more
    /// specific request; `auto` honours `NO_COLOR` (set and non-empty) and
    /// `TERM=dumb`.
    pub fn enabled(self, stream_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stream_is_terminal && environment_allows_color(),
        }
    }

    /// Whether to colour standard output.
    pub fn for_stdout(self) -> bool {
        self.enabled(std::io::stdout().is_terminal())
    }

    /// Whether to colour standard error.
    pub fn for_stderr(self) -> bool {
        self.enabled(std::io::stderr().is_terminal())
    }
}

fn environment_allows_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb
}
