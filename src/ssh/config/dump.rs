//! `rrun -G`: a host's resolved options in `ssh -G`'s keywords and value
//! forms (lowercase keywords, yes/no as true/false where ssh prints them
//! so, defaults filled in as ssh fills them), for every option fleetkit
//! honours; so a user sees why it connects as it does, and tests compare
//! it with `ssh -G` line for line.

use super::eval::HostConfig;
use super::tokens;

/// The keys printed, in the order `ssh -G` prints them.
pub const KEYS: &[&str] = &[
    "user",
    "hostname",
    "port",
    "batchmode",
    "identitiesonly",
    "stricthostkeychecking",
    "connectionattempts",
    "serveralivecountmax",
    "serveraliveinterval",
    "ciphers",
    "hostkeyalgorithms",
    "kexalgorithms",
    "macs",
    "hostkeyalias",
    "identityagent",
    "identityfile",
    "certificatefile",
    "globalknownhostsfile",
    "userknownhostsfile",
    "proxycommand",
    "proxyjump",
    "connecttimeout",
];

/// OpenSSH's default identity files, in its order.
const DEFAULT_IDS: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

/// `yes`/`no`, as ssh -G prints BatchMode and IdentitiesOnly.
fn yes_no(v: Option<&str>) -> &'static str {
    match v.map(str::to_ascii_lowercase).as_deref() {
        Some("yes" | "true") => "yes",
        _ => "no",
    }
}

fn flag(v: &str) -> &'static str {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => "true",
        "ask" => "ask",
        "accept-new" => "accept-new",
        _ => "false",
    }
}

/// The lines for one host.
pub fn lines(c: &HostConfig) -> Vec<String> {
    let t = c.tokens();
    let mut out = Vec::new();
    let mut put = |k: &str, v: String| out.push(format!("{k} {v}"));
    put("user", c.user());
    put("hostname", c.hostname().to_ascii_lowercase());
    put("port", c.port().to_string());
    put("batchmode", yes_no(c.first("batchmode")).into());
    put("identitiesonly", yes_no(c.first("identitiesonly")).into());
    put(
        "stricthostkeychecking",
        flag(c.first("stricthostkeychecking").unwrap_or("ask")).into(),
    );
    put(
        "connectionattempts",
        c.first("connectionattempts").unwrap_or("1").into(),
    );
    put(
        "serveralivecountmax",
        c.first("serveralivecountmax").unwrap_or("3").into(),
    );
    put(
        "serveraliveinterval",
        super::keywords::alive_interval(c).to_string(),
    );
    for key in ["ciphers", "hostkeyalgorithms", "kexalgorithms", "macs"] {
        if let Some(v) = c.first(key) {
            put(key, v.into());
        }
    }
    if let Some(v) = c.first("hostkeyalias") {
        put("hostkeyalias", v.into());
    }
    if let Some(v) = c.first("identityagent") {
        put("identityagent", v.into());
    }
    let ids = c.all("identityfile");
    if ids.is_empty() {
        for id in DEFAULT_IDS {
            put("identityfile", id.to_string());
        }
    }
    for s in ids {
        put("identityfile", s.args[0].clone());
    }
    for s in c.all("certificatefile") {
        put("certificatefile", s.args[0].clone());
    }
    let files = |key: &str, default: &[&str]| -> String {
        let raw: Vec<String> = match c.get(key) {
            Some(s) => s.args.clone(),
            None => default.iter().map(|d| d.to_string()).collect(),
        };
        raw.iter()
            .map(|f| {
                tokens::expand_file(f, &t)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| f.clone())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    put(
        "globalknownhostsfile",
        files(
            "globalknownhostsfile",
            &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
        ),
    );
    put(
        "userknownhostsfile",
        files(
            "userknownhostsfile",
            &["~/.ssh/known_hosts", "~/.ssh/known_hosts2"],
        ),
    );
    if let Some(cmd) = c.proxy_command() {
        put("proxycommand", cmd);
    }
    let hops = c.proxy_jump();
    if !hops.is_empty() {
        put("proxyjump", hops.join(","));
    }
    put(
        "connecttimeout",
        match c.first("connecttimeout") {
            Some(v) if !v.eq_ignore_ascii_case("none") => {
                super::keywords::seconds(v).map_or_else(|| v.to_string(), |s| s.to_string())
            }
            _ => "none".to_string(),
        },
    );
    out
}
