//! The man pages and completion scripts in man/ and completions/ are
//! generated from each tool's flag table; this test regenerates them and
//! fails on drift. `FLEETKIT_BLESS=1 cargo test --test generated` (or
//! `scripts/generate`) rewrites them.

mod util;

use std::path::Path;
use std::process::Command;

const TOOLS: &[&str] = &["confcheck", "jpretty", "rcp", "rrun"];

fn check(tool: &str, kind: &str, path: &str) {
    let out = Command::new(util::binary(tool))
        .args(["--generate", kind])
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("FLEETKIT_BLESS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &out.stdout).unwrap();
        return;
    }
    let committed = std::fs::read(&file).unwrap_or_default();
    assert!(
        committed == out.stdout,
        "{path} is out of date with `{tool} --generate {kind}`: run scripts/generate"
    );
}

#[test]
fn man_pages_and_completions_match_the_flag_tables() {
    for tool in TOOLS {
        check(tool, "man", &format!("man/{tool}.1"));
        check(tool, "complete-bash", &format!("completions/{tool}.bash"));
        check(tool, "complete-zsh", &format!("completions/_{tool}"));
        check(tool, "complete-fish", &format!("completions/{tool}.fish"));
    }
}

#[test]
fn generated_files_are_valid_for_their_readers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for tool in TOOLS {
        // bash parses the completion script.
        let bash = root.join(format!("completions/{tool}.bash"));
        let ok = Command::new("bash").arg("-n").arg(&bash).status().unwrap();
        assert!(ok.success(), "bash -n {}", bash.display());
        // man renders the page without warnings.
        let page = root.join(format!("man/{tool}.1"));
        let out = Command::new("man")
            .args(["--warnings", "-l", "-Tutf8"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .output();
        if let Ok(out) = out {
            assert!(out.status.success(), "man -l {}", page.display());
            // Drop the overstrikes that make bold and underline.
            let text = String::from_utf8_lossy(&out.stdout).replace("\u{8}", "\u{0}");
            let text: String = text
                .split('\u{0}')
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        s
                    } else {
                        &s[s.chars().next().map_or(0, char::len_utf8)..]
                    }
                })
                .collect();
            let text = text.replace("\u{0}", "");
            assert!(text.contains("EXIT STATUS"), "{text}");
            assert!(
                text.contains("--help") && text.contains("OPTIONS"),
                "{text}"
            );
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            panic!("man is needed to check the man pages (apt-get install man-db)");
        }
    }
}

/// What bash's completion offers for `words` (the last is being typed),
/// as bash would call the function.
fn bash_completes(tool: &str, words: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMPREPLY=(); _{tool}; echo \"${{COMPREPLY[*]}}\"",
        root.join(format!("completions/{tool}.bash")).display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn completions_offer_values_after_an_equals_sign_and_no_options_after_the_command() {
    // bash splits --host-key=VALUE at the `=`.
    assert_eq!(
        bash_completes("rrun", &["rrun", "--host-key", "=", ""]),
        "strict accept-new off"
    );
    assert_eq!(
        bash_completes("rrun", &["rrun", "--host-key", "=", "st"]),
        "strict"
    );
    assert_eq!(
        bash_completes("rrun", &["rrun", "--ssh", ""]),
        "auto native openssh"
    );
    assert_eq!(
        bash_completes("rrun", &["rrun", "-H", "web1", "--su"]),
        "--sudo --sudo-user"
    );
    assert_eq!(
        bash_completes(
            "rrun",
            &["rrun", "--color", "=", "never", "-x", "w", "--pt"]
        ),
        "--pty"
    );
    // After the remote command, rrun's options are not offered.
    assert_eq!(
        bash_completes("rrun", &["rrun", "-H", "web1", "uptime", "--"]),
        ""
    );
    assert_eq!(bash_completes("rrun", &["rrun", "-p", "4", "ls", "-"]), "");
    // fish: the same, by `complete -C`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fish = |line: &str| {
        let out = Command::new("fish")
            .arg("-c")
            .arg(format!(
                "source {}; complete -C '{line}'",
                root.join("completions/rrun.fish").display()
            ))
            .output()
            .expect("fish (scripts/test installs it)");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut words: Vec<String> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect();
        words.sort();
        words.join(" ")
    };
    assert_eq!(
        fish("rrun --host-key="),
        "--host-key=accept-new --host-key=off --host-key=strict"
    );
    assert_eq!(fish("rrun -H a --su"), "--sudo --sudo-user");
    assert_eq!(fish("rrun -H a uptime --su"), "");
    // zsh: TAB pressed in a live interactive zsh (under zsh/zpty, by
    // tests/scripts/zcompcap), which prints what it offers.
    let zsh = |line: &str| {
        let out = Command::new(root.join("tests/scripts/zcompcap"))
            .arg(root.join("completions"))
            .arg(line)
            .output()
            .expect("zsh (scripts/test installs it)");
        assert!(out.status.success(), "{line}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(zsh("rrun --host-key="), "accept-new off strict");
    // --color takes a value only after `=` (GNU grep's and ls's way).
    assert_eq!(zsh("jpretty --color="), "always auto never");
    assert_eq!(
        fish("rrun --color="),
        "--color=always --color=auto --color=never"
    );
    assert_eq!(
        bash_completes("jpretty", &["jpretty", "--color", "=", ""]),
        "auto always never"
    );
    assert!(!bash_completes("jpretty", &["jpretty", "--color", ""]).contains("never"));
    assert_eq!(zsh("rrun --ssh "), "auto native openssh");
    assert_eq!(zsh("rrun -H a --su"), "--sudo --sudo-user");
    assert_eq!(zsh("rrun -H a --di"), "--diff");
    // After the remote command, nothing of rrun's; the line before it,
    // which does offer options, shows the completer ran at all.
    assert_eq!(zsh("rrun -H a uptime --su"), "");
    assert_eq!(zsh("rrun -H a uptime -"), "");
}
