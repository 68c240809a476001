//! Every keyword OpenSSH 9.2's ssh_config knows, and what fleetkit's
//! native SSH does with it: honours it, can safely leave it (it changes
//! nothing about running a command: logging, X11, terminal niceties), or
//! cannot do it. A keyword of the last kind, set to anything but its
//! off value for a host, is never silently dropped: [`native_gap`] names
//! it, so the host takes the OpenSSH transport or the run stops with an
//! error naming the file and line.

use super::eval::{HostConfig, Setting};

/// What the native path does with a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Honoured,
    /// Nothing it would change matters to a non-interactive command.
    Harmless,
    /// Needs the OpenSSH transport (unless set to its off value).
    OpenSsh,
    /// Deprecated or removed in OpenSSH: accepted and ignored, as ssh does.
    Deprecated,
}

const HONOURED: &[&str] = &[
    "batchmode",
    "ciphers",
    "connectionattempts",
    "connecttimeout",
    "globalknownhostsfile",
    "hostkeyalgorithms",
    "hostkeyalias",
    "hostname",
    "identitiesonly",
    "identityagent",
    "identityfile",
    "ignoreunknown",
    "kexalgorithms",
    "macs",
    "port",
    "proxycommand",
    "proxyjump",
    "serveralivecountmax",
    "serveraliveinterval",
    "stricthostkeychecking",
    "user",
    "userknownhostsfile",
];

/// Honoured keywords that take several values.
const MANY_VALUES: &[&str] = &["globalknownhostsfile", "userknownhostsfile"];

const HARMLESS: &[&str] = &[
    "addkeystoagent",
    "canonicaldomains",
    "canonicalizefallbacklocal",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "checkhostip",
    "challengeresponseauthentication",
    "clearallforwardings",
    "compression",
    "enableescapecommandline",
    "enablesshkeysign",
    "escapechar",
    "exitonforwardfailure",
    "fingerprinthash",
    "forwardx11",
    "forwardx11timeout",
    "forwardx11trusted",
    "gatewayports",
    // Debian's own /etc/ssh/ssh_config turns GSSAPI on for every host; it
    // only adds a method to try first, and the others still run.
    "gssapiauthentication",
    "gssapidelegatecredentials",
    "gssapikeyexchange",
    "gssapiclientidentity",
    "gssapiserveridentity",
    "gssapirenewalforcesrekey",
    "gssapitrustdns",
    "gssapikexalgorithms",
    "hashknownhosts",
    "hostbasedacceptedalgorithms",
    "hostbasedauthentication",
    "hostbasedkeytypes",
    "ipqos",
    "kbdinteractiveauthentication",
    "kbdinteractivedevices",
    "localcommand",
    "loglevel",
    "logverbose",
    "nohostauthenticationforlocalhost",
    "numberofpasswordprompts",
    "passwordauthentication",
    "permitremoteopen",
    "preferredauthentications",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "rekeylimit",
    "sendenv",
    "stdinnull",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "syslogfacility",
    "tcpkeepalive",
    "updatehostkeys",
    "verifyhostkeydns",
    "visualhostkey",
    "xauthlocation",
    "forkafterauthentication",
    "tunneldevice",
    "controlpersist",
];

/// Keywords that change how a command runs or authenticates, and the
/// values that leave them off.
const OPENSSH: &[(&str, &[&str])] = &[
    ("certificatefile", &["none"]),
    ("controlmaster", &["no", "false"]),
    ("controlpath", &["none"]),
    ("dynamicforward", &[]),
    ("forwardagent", &["no", "false"]),
    ("knownhostscommand", &["none"]),
    ("localforward", &[]),
    ("pkcs11provider", &["none"]),
    ("remotecommand", &["none"]),
    ("remoteforward", &[]),
    ("requesttty", &["no", "false", "auto"]),
    ("securitykeyprovider", &["internal"]),
    ("setenv", &[]),
    ("smartcarddevice", &[]),
    ("tunnel", &["no", "false"]),
    ("bindaddress", &[]),
    ("bindinterface", &[]),
    ("usekeychain", &["no"]),
    ("revokedhostkeys", &["none"]),
    (
        "pubkeyauthentication",
        &["yes", "true", "unbound", "host-bound"],
    ),
    ("requiredrsasize", &["1024", "2048"]),
    ("proxyusefdpass", &["no", "false"]),
    ("sessiontype", &["default"]),
    ("addressfamily", &["any"]),
    ("permitlocalcommand", &["no", "false"]),
    // The canonical pass re-reads the config for a new name.
    ("canonicalizehostname", &["no", "false"]),
    // Host certificates are checked against OpenSSH's default list.
    ("casignaturealgorithms", &[]),
];

const DEPRECATED: &[&str] = &[
    "afstokenpassing",
    "cipher",
    "compressionlevel",
    "fallbacktorsh",
    "kerberosauthentication",
    "kerberostgtpassing",
    "protocol",
    "rhostsauthentication",
    "rhostsrsaauthentication",
    "rsaauthentication",
    "skeyauthentication",
    "tisauthentication",
    "useprivilegedport",
    "useroaming",
    "usersh",
    "dsaauthentication",
];

/// What the native path does with `key` (lowercase); `None`: unknown.
pub fn kind(key: &str) -> Option<Use> {
    if HONOURED.contains(&key) {
        Some(Use::Honoured)
    } else if HARMLESS.contains(&key) {
        Some(Use::Harmless)
    } else if OPENSSH.iter().any(|(k, _)| *k == key) {
        Some(Use::OpenSsh)
    } else if DEPRECATED.contains(&key) {
        Some(Use::Deprecated)
    } else {
        None
    }
}

/// Rejects values a tool would have to guess at (a port that is no port).
pub fn check(key: &str, args: &[String]) -> Result<(), String> {
    let v = args[0].as_str();
    // ssh refuses a second word after a one-value keyword (`Port 22 33`,
    // `User a b`) and an empty one: checked for every keyword fleetkit
    // honours, which are one-value but for the known_hosts file lists.
    if HONOURED.contains(&key) && !MANY_VALUES.contains(&key) {
        if args.len() > 1 {
            return Err(format!("keyword {key} extra arguments at end of line"));
        }
        if v.is_empty() {
            return Err(format!("{key}: missing argument"));
        }
    }
    let number = |what: &str| -> Result<(), String> {
        v.parse::<u64>()
            .map(|_| ())
            .map_err(|_| format!("{what} '{v}' is not a number"))
    };
    match key {
        "port" if port(v).is_none() => Err(format!("Port '{v}' is not a port number")),
        "connecttimeout" if !v.eq_ignore_ascii_case("none") && seconds(v).is_none() => Err(
            format!("ConnectTimeout '{v}' is not a time (seconds, or 5s, 1m, 1h)"),
        ),
        "connecttimeout" => Ok(()),
        "connectionattempts" => number("ConnectionAttempts"),
        "serveraliveinterval" if seconds(v).is_none() => {
            Err(format!("ServerAliveInterval '{v}' is not a time"))
        }
        "serveralivecountmax" => number("ServerAliveCountMax"),
        "stricthostkeychecking"
            if !matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "no" | "off" | "ask" | "accept-new" | "true" | "false"
            ) =>
        {
            Err(format!(
                "StrictHostKeyChecking '{v}': expected yes, no, ask or accept-new"
            ))
        }
        "batchmode" | "identitiesonly"
            if !matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "no" | "true" | "false"
            ) =>
        {
            Err(format!("{key} '{v}': expected yes or no"))
        }
        _ => Ok(()),
    }
}

/// A time as ssh_config writes it (convtime): `30`, `30s`, `5m`, `1h30m`.
/// ServerAliveInterval in seconds (`5s`, `1m` as ssh reads times): 0 is
/// none; unset under BatchMode yes it is 300, as ssh sets it.
pub fn alive_interval(c: &super::eval::HostConfig) -> u64 {
    match c.first("serveraliveinterval") {
        Some(v) => seconds(v).unwrap_or(0),
        None if c.yes("batchmode") == Some(true) => 300,
        None => 0,
    }
}

pub fn seconds(v: &str) -> Option<u64> {
    let (mut total, mut num) = (0u64, String::new());
    for c in v.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => return None,
        };
        total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(unit)?)?;
        num.clear();
    }
    if !num.is_empty() {
        total = total.checked_add(num.parse().ok()?)?;
    } else if v.is_empty() {
        return None;
    }
    Some(total)
}

/// A port: a number, or a service name ssh would look up.
pub fn port(v: &str) -> Option<u16> {
    match v.parse::<u16>() {
        Ok(0) => None,
        Ok(p) => Some(p),
        Err(_) => {
            let name = std::ffi::CString::new(v).ok()?;
            // SAFETY: a valid C string; getservbyname's static result is
            // read at once.
            unsafe {
                let s = libc::getservbyname(name.as_ptr(), c"tcp".as_ptr());
                (!s.is_null()).then(|| u16::from_be((*s).s_port as u16))
            }
        }
    }
}

/// The first option set for a host that the native path cannot honour.
pub fn native_gap(c: &HostConfig) -> Option<(&str, &Setting)> {
    c.settings().find(|(key, s)| {
        OPENSSH
            .iter()
            .any(|(k, off)| k == key && !off.iter().any(|o| s.args[0].eq_ignore_ascii_case(o)))
    })
}
