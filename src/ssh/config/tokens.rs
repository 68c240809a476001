//! ssh_config's `%` tokens and `${VAR}` environment references, expanded
//! where OpenSSH 9.2 expands them (ssh_config(5), TOKENS): HostName takes
//! `%h`; ProxyCommand and ProxyJump `%h %n %p %r`; IdentityFile,
//! CertificateFile, UserKnownHostsFile, IdentityAgent, ControlPath and
//! `Match exec` take all of `%C %d %h %i %k %L %l %n %p %r %u`, and the
//! file names `${VAR}` and `~` too. An unknown token is an error, as it is
//! for ssh.

use sha1::{Digest, Sha1};

/// Every token a file name or `Match exec` may use.
pub const ALL: &str = "CdhikLlnpru";
/// What ProxyCommand and ProxyJump may use.
pub const PROXY: &str = "hnpr";

/// The values tokens stand for.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    /// Remote host name (HostName applied).
    pub h: String,
    /// The name as given.
    pub n: String,
    pub p: String,
    /// Remote user.
    pub r: String,
    /// Local user.
    pub u: String,
    /// Local host name, full and short.
    pub l: String,
    pub big_l: String,
    /// Home directory.
    pub d: String,
    /// Local uid.
    pub i: String,
    /// HostKeyAlias, else the host.
    pub k: String,
}

impl Tokens {
    pub fn for_host(
        host: &str,
        original: &str,
        port: u16,
        user: &str,
        local_user: &str,
        host_key_alias: Option<&str>,
    ) -> Tokens {
        let full = local_hostname();
        let short = full.split('.').next().unwrap_or(&full).to_string();
        Tokens {
            h: host.to_string(),
            n: original.to_string(),
            p: port.to_string(),
            r: user.to_string(),
            u: local_user.to_string(),
            l: full,
            big_l: short,
            d: super::home().display().to_string(),
            // SAFETY: getuid cannot fail.
            i: unsafe { libc::getuid() }.to_string(),
            // HostKeyAlias, else the name as given (lowercase, as ssh).
            k: host_key_alias.unwrap_or(original).to_ascii_lowercase(),
        }
    }

    /// `%C`: SHA-1 of `%l%h%p%r`, in hex.
    fn connection_hash(&self) -> String {
        let d = Sha1::digest(format!("{}{}{}{}", self.l, self.h, self.p, self.r));
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// This machine's host name.
fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Expands the `%` tokens in `allowed` (and `%%`).
pub fn expand(text: &str, t: &Tokens, allowed: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(k) = chars.next() else {
            return Err(format!("'{text}': a lone % at the end"));
        };
        if k == '%' {
            out.push('%');
            continue;
        }
        if !allowed.contains(k) {
            return Err(format!("'{text}': unknown token %{k}"));
        }
        match k {
            'h' => out.push_str(&t.h),
            'n' => out.push_str(&t.n),
            'p' => out.push_str(&t.p),
            'r' => out.push_str(&t.r),
            'u' => out.push_str(&t.u),
            'l' => out.push_str(&t.l),
            'L' => out.push_str(&t.big_l),
            'd' => out.push_str(&t.d),
            'i' => out.push_str(&t.i),
            'k' => out.push_str(&t.k),
            'C' => out.push_str(&t.connection_hash()),
            _ => return Err(format!("'{text}': unknown token %{k}")),
        }
    }
    Ok(out)
}

/// Expands `${VAR}` from the environment; an unset variable is an error.
pub fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("'{text}': unterminated ${{"));
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => return Err(format!("'{text}': environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A file name option's value as used: `~`, tokens, then `${VAR}`.
pub fn expand_file(text: &str, t: &Tokens) -> Result<std::path::PathBuf, String> {
    let tilde = super::expand_path(text).display().to_string();
    let tokens = expand(&tilde, t, ALL)?;
    Ok(std::path::PathBuf::from(expand_env(&tokens)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expand_and_unknown_ones_are_refused() {
        let t = Tokens {
            h: "web1".into(),
            p: "22".into(),
            r: "deploy".into(),
            ..Tokens::default()
        };
        assert_eq!(
            expand("kh_%h_%p_%r_%%", &t, ALL).unwrap(),
            "kh_web1_22_deploy_%"
        );
        assert!(expand("%z", &t, ALL).is_err());
        assert!(expand("%u", &t, PROXY).is_err());
        unsafe { std::env::set_var("FLEETKIT_TOKEN_TEST", "v") };
        assert_eq!(expand_env("a${FLEETKIT_TOKEN_TEST}b").unwrap(), "avb");
        assert!(expand_env("${FLEETKIT_NOT_SET_EVER}").is_err());
    }
}
