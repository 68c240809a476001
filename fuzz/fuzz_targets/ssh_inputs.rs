//! Fuzzes what a user hands the SSH layer: ssh_config text (with Include
//! and Match), known_hosts text, host lists and group files, and the one thing a
//! server hands it to parse: a host certificate blob. Whatever the input, no
//! panic and no hang; every config that parses resolves for a few hosts
//! and prints as `rrun -G` would.
//!
//! The first byte picks the reader. Include arguments are made relative
//! (so they stay under a scratch $HOME/.ssh) and `Match exec` is parsed
//! but never run. Run: `cargo +nightly fuzz run ssh_inputs`.

#![no_main]

use fleetkit::hosts;
use fleetkit::ssh::config::{Config, Query, dump};
use fleetkit::ssh::host_cert::HostCert;
use fleetkit::ssh::known_hosts::KnownHosts;
use libfuzzer_sys::fuzz_target;

fn sandbox() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let home = std::env::temp_dir().join("fleetkit-fuzz-home");
        let ssh = home.join(".ssh/conf.d");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(ssh.join("a.conf"), "Host a*\n  User x\nInclude conf.d/*\n").unwrap();
        std::fs::write(ssh.join("b.conf"), "Match host b\n  Port 2\n").unwrap();
        // SAFETY: set once, before any thread reads it.
        unsafe { std::env::set_var("HOME", &home) };
    });
}

fuzz_target!(|data: &[u8]| {
    sandbox();
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match pick % 4 {
        0 => {
            let safe: String = text
                .lines()
                .map(|l| {
                    if l.trim_start().to_ascii_lowercase().starts_with("include") {
                        l.replace(['/', '~', '$'], "_")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            if let Ok(config) = Config::parse(&safe, "fuzz") {
                if safe.to_ascii_lowercase().contains("exec") {
                    return;
                }
                for host in ["a1", "b", "WEB", "10.0.0.1"] {
                    let c = config.resolve(&Query::new(host));
                    let _ = dump::lines(&c);
                    let _ = c.jump_loop();
                }
            }
        }
        1 => {
            let kh = KnownHosts::from_text("fuzz".into(), &text);
            for (h, p) in [("web1", 22), ("10.0.0.5", 2200)] {
                let _ = kh.key_types(h, p);
                let _ = kh.check(h, p, "ssh-ed25519", "AAAA");
                let _ = kh.authorities(h, p);
            }
        }
        3 => {
            if let Ok(cert) = HostCert::parse(rest) {
                let _ = cert.plain_key();
                let authority = fleetkit::ssh::known_hosts::Authority {
                    file: "kh".into(),
                    line: 1,
                    key: cert.ca_key(),
                };
                let _ = cert.check("web1", std::time::SystemTime::now(), &[authority], |_| None);
            }
        }
        _ => {
            // A host list (with groups and set operations), and the same
            // text as a group file.
            let groups = hosts::Groups::from_text("web: a[1-3]\nall: @web, b\n", "groups");
            if let Ok(targets) = hosts::parse_list(rest, "fuzz", &groups) {
                let _ = hosts::dedupe(targets);
            }
            let _ = hosts::parse_option(&text, "-H", &groups);
            let file = hosts::Groups::from_text(&text, "fuzz");
            let _ = file.list();
            let _ = file.members("all");
        }
    }
});
