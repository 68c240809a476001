//! Host certificates: judging an OpenSSH certificate a server presents
//! against the `@cert-authority` lines known_hosts has for that host, as
//! OpenSSH's `check_host_cert` does. Keys, signatures and their
//! verification are the RustCrypto `ssh-key` crate's; this module holds
//! the certificate's framing (PROTOCOL.certkeys) and the policy: which
//! CA, which name, which time, which options.
//!
//! The framing is read here, field by field with `ssh-encoding`, because
//! ssh-key 0.6's `Certificate` refuses `valid_before` = 2^64-1, which is
//! what `ssh-keygen -s` writes for a certificate that never expires.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use signature::Verifier;
use ssh_encoding::Decode;
use ssh_key::Signature;
use ssh_key::certificate::OptionsMap;
use ssh_key::public::KeyData;

use super::digest::{base64_encode, fingerprint};
use super::known_hosts::Authority;

/// The suffix of every certificate key type.
const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// The CA signature algorithms OpenSSH accepts by default
/// (CASignatureAlgorithms; a config that sets it takes OpenSSH).
const CA_SIGNATURE_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-256",
];

/// PROTOCOL.certkeys' type for host certificates (user ones are 1).
const SSH2_CERT_TYPE_HOST: u32 = 2;

/// Whether a host key algorithm (or key blob type) is a certificate.
pub fn is_certificate(key_type: &str) -> bool {
    key_type.ends_with(CERT_SUFFIX)
}

/// A host certificate, read from the blob the server sent.
pub struct HostCert {
    /// The certified key, as a plain public key blob.
    plain: Vec<u8>,
    cert_type: u32,
    principals: Vec<String>,
    valid_after: u64,
    valid_before: u64,
    critical_options: Vec<String>,
    /// The CA's public key blob, and the key.
    ca_blob: Vec<u8>,
    ca: KeyData,
    /// The CA's signature algorithm, and the signature when the crate
    /// reads it (it refuses SHA-1 RSA ones, which are refused anyway).
    signature_algorithm: String,
    signature: Option<Signature>,
    /// How many leading bytes of the blob the CA signed.
    signed: usize,
    blob: Vec<u8>,
}

/// Why a certificate is not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The CA that signed it is `@revoked` (file, line): nothing about
    /// this host may be trusted, not even its plain key.
    RevokedCa(PathBuf, usize),
    /// Not valid for this host; its plain key may still be known.
    Invalid(String),
}

impl HostCert {
    /// Parses a certificate blob (as libssh2 hands over the host key).
    pub fn parse(blob: &[u8]) -> Result<HostCert, String> {
        read(blob).map_err(|e| format!("the host's certificate cannot be read: {e}"))
    }

    /// The certified key as a plain public key blob: what a host key
    /// check falls back to when no CA applies.
    pub fn plain_key(&self) -> Vec<u8> {
        self.plain.clone()
    }

    /// The CA's key, base64 as known_hosts writes it.
    pub fn ca_key(&self) -> String {
        base64_encode(&self.ca_blob)
    }

    /// Judges the certificate for the host known as `name` at `now`:
    /// signed by one of `authorities` (none of them revoked per
    /// `revoked`) with an algorithm OpenSSH's default
    /// CASignatureAlgorithms allows (not SHA-1 RSA, not DSA), a host
    /// certificate, in its validity window, naming `name` among its
    /// principals (or naming none), with no critical options.
    pub fn check(
        &self,
        name: &str,
        now: SystemTime,
        authorities: &[Authority],
        revoked: impl Fn(&str) -> Option<(PathBuf, usize)>,
    ) -> Result<(), Refusal> {
        let ca = self.ca_key();
        if let Some((file, line)) = revoked(&ca) {
            return Err(Refusal::RevokedCa(file, line));
        }
        let ca_print = fingerprint(&self.ca_blob);
        if !authorities.iter().any(|a| a.key == ca) {
            let lines: Vec<String> = authorities
                .iter()
                .map(|a| format!("{}:{}", a.file.display(), a.line))
                .collect();
            return Err(Refusal::Invalid(format!(
                "it is signed by a CA ({ca_print}) that no @cert-authority line for this host trusts ({})",
                lines.join(", ")
            )));
        }
        if self.cert_type != SSH2_CERT_TYPE_HOST {
            return Err(Refusal::Invalid(
                "it is a user certificate, not a host certificate".to_string(),
            ));
        }
        if !CA_SIGNATURE_ALGORITHMS.contains(&self.signature_algorithm.as_str()) {
            return Err(Refusal::Invalid(format!(
                "its CA signed it with {}, which OpenSSH's CASignatureAlgorithms does not allow",
                self.signature_algorithm
            )));
        }
        let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if now_secs < self.valid_after {
            return Err(Refusal::Invalid(format!(
                "it is not valid before {}",
                when(self.valid_after)
            )));
        }
        if now_secs >= self.valid_before {
            return Err(Refusal::Invalid(format!(
                "it expired at {}",
                when(self.valid_before)
            )));
        }
        let verified = self
            .signature
            .as_ref()
            .is_some_and(|sig| self.ca.verify(&self.blob[..self.signed], sig).is_ok());
        if !verified {
            return Err(Refusal::Invalid(
                "its CA signature does not verify".to_string(),
            ));
        }
        if !self.critical_options.is_empty() {
            return Err(Refusal::Invalid(format!(
                "it has critical options ({}), which a host certificate may not",
                self.critical_options.join(", ")
            )));
        }
        // As OpenSSH 9.2's client: no principals is any host, and a
        // principal is compared as it is (no patterns, no case folding)
        // with the lowercased name.
        let principals = &self.principals;
        let name = name.to_ascii_lowercase();
        if !principals.is_empty() && !principals.contains(&name) {
            return Err(Refusal::Invalid(format!(
                "{name} is not among its principals ({})",
                principals.join(", ")
            )));
        }
        Ok(())
    }
}

/// Reads a certificate's fields (PROTOCOL.certkeys), in order.
fn read(blob: &[u8]) -> Result<HostCert, String> {
    let e = |e: ssh_encoding::Error| e.to_string();
    let k = |e: ssh_key::Error| e.to_string();
    let mut r = blob;
    let alg = String::decode(&mut r).map_err(e)?;
    let plain_alg = alg
        .strip_suffix(CERT_SUFFIX)
        .ok_or_else(|| format!("{alg} is not a certificate type"))?;
    let _nonce = Vec::<u8>::decode(&mut r).map_err(e)?;
    // The certified key's fields follow; as a plain key blob they would
    // follow the plain type's name, and the crate reads exactly those.
    let mut plain = Vec::with_capacity(4 + plain_alg.len() + r.len());
    plain.extend_from_slice(&(plain_alg.len() as u32).to_be_bytes());
    plain.extend_from_slice(plain_alg.as_bytes());
    plain.extend_from_slice(r);
    let mut rest = plain.as_slice();
    KeyData::decode(&mut rest).map_err(k)?;
    let key_len = plain.len() - rest.len();
    r = &r[key_len - 4 - plain_alg.len()..];
    plain.truncate(key_len);
    let _serial = u64::decode(&mut r).map_err(e)?;
    let cert_type = u32::decode(&mut r).map_err(e)?;
    let _key_id = String::decode(&mut r).map_err(e)?;
    let principals = Vec::<String>::decode(&mut r).map_err(e)?;
    let valid_after = u64::decode(&mut r).map_err(e)?;
    let valid_before = u64::decode(&mut r).map_err(e)?;
    let critical = OptionsMap::decode(&mut r).map_err(k)?;
    let _extensions = OptionsMap::decode(&mut r).map_err(k)?;
    let _reserved = Vec::<u8>::decode(&mut r).map_err(e)?;
    let ca_blob = Vec::<u8>::decode(&mut r).map_err(e)?;
    let ca = KeyData::decode(&mut ca_blob.as_slice()).map_err(k)?;
    let signed = blob.len() - r.len();
    let signature = Vec::<u8>::decode(&mut r).map_err(e)?;
    let signature_algorithm = String::decode(&mut signature.as_slice()).map_err(e)?;
    let signature = Signature::decode(&mut signature.as_slice()).ok();
    if !r.is_empty() {
        return Err(format!("{} bytes after its signature", r.len()));
    }
    Ok(HostCert {
        plain,
        cert_type,
        principals,
        valid_after,
        valid_before,
        critical_options: critical.keys().cloned().collect(),
        ca_blob,
        ca,
        signature_algorithm,
        signature,
        signed,
        blob: blob.to_vec(),
    })
}

/// A certificate time as a date, UTC.
fn when(secs: u64) -> String {
    if secs == u64::MAX {
        return "forever".to_string();
    }
    let t = UNIX_EPOCH + std::time::Duration::from_secs(secs.min(i64::MAX as u64 / 2));
    let stamp = crate::output::record::rfc3339(t);
    // Seconds are enough: certificates count whole seconds.
    let seconds = stamp.split('.').next().unwrap_or(&stamp);
    format!("{} UTC", seconds.replace('T', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_types() {
        assert!(is_certificate("ssh-ed25519-cert-v01@openssh.com"));
        assert!(is_certificate("rsa-sha2-512-cert-v01@openssh.com"));
        assert!(!is_certificate("ssh-ed25519"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(HostCert::parse(b"").is_err());
        assert!(HostCert::parse(b"\0\0\0\x20ssh-ed25519-cert-v01@openssh.com").is_err());
    }

    /// A CA and certificates ssh-keygen makes, in a fresh directory.
    struct Ca {
        dir: PathBuf,
    }

    impl Ca {
        fn new(name: &str) -> Ca {
            let dir = std::env::temp_dir()
                .join(format!("fleetkit-hostcert-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let ca = Ca { dir };
            ca.keygen(&["-t", "ed25519", "-N", "", "-f", "ca"]);
            ca.keygen(&["-t", "ed25519", "-N", "", "-f", "other_ca"]);
            ca.keygen(&["-t", "ed25519", "-N", "", "-f", "hk"]);
            ca
        }

        fn keygen(&self, args: &[&str]) {
            let ok = std::process::Command::new("ssh-keygen")
                .arg("-q")
                .args(args)
                .current_dir(&self.dir)
                .env("TZ", "UTC")
                .status()
                .expect("ssh-keygen (openssh-client)");
            assert!(ok.success(), "ssh-keygen {args:?}");
        }

        /// Signs the host key with `signer` and `options`; the blob.
        fn sign(&self, signer: &str, options: &[&str]) -> Vec<u8> {
            let mut args = vec!["-s", signer, "-I", "fleetkit-key-id"];
            args.extend(options);
            args.push("hk.pub");
            self.keygen(&args);
            let text = std::fs::read_to_string(self.dir.join("hk-cert.pub")).unwrap();
            crate::ssh::digest::base64_decode(text.split_whitespace().nth(1).unwrap()).unwrap()
        }

        fn authority(&self) -> Vec<Authority> {
            let text = std::fs::read_to_string(self.dir.join("ca.pub")).unwrap();
            vec![Authority {
                file: "kh".into(),
                line: 1,
                key: text.split_whitespace().nth(1).unwrap().to_string(),
            }]
        }
    }

    fn verdict(ca: &Ca, blob: &[u8], name: &str) -> Result<(), Refusal> {
        HostCert::parse(blob)
            .unwrap()
            .check(name, SystemTime::now(), &ca.authority(), |_| None)
    }

    fn refusal(ca: &Ca, blob: &[u8], name: &str) -> String {
        match verdict(ca, blob, name) {
            Err(Refusal::Invalid(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn certificates_are_judged_as_openssh_judges_them() {
        let ca = Ca::new("judge");
        let forever = ca.sign("ca", &["-h", "-n", "web1,*.example.com"]);
        assert_eq!(verdict(&ca, &forever, "web1"), Ok(()));
        assert_eq!(verdict(&ca, &forever, "WEB1"), Ok(()));
        // Principals are names, not patterns (OpenSSH 9.2's client).
        assert!(refusal(&ca, &forever, "a.example.com").contains("not among its principals"));
        assert!(refusal(&ca, &forever, "web2").contains("web2 is not among its principals"));
        let upper = ca.sign("ca", &["-h", "-n", "WEB1"]);
        assert!(refusal(&ca, &upper, "web1").contains("not among its principals"));
        // The certified key is the plain host key.
        let hk = std::fs::read_to_string(ca.dir.join("hk.pub")).unwrap();
        assert_eq!(
            base64_encode(&HostCert::parse(&forever).unwrap().plain_key()),
            hk.split_whitespace().nth(1).unwrap()
        );
        let expired = ca.sign("ca", &["-h", "-n", "web1", "-V", "20000101:20010101"]);
        assert_eq!(
            refusal(&ca, &expired, "web1"),
            "it expired at 2001-01-01 00:00:00 UTC"
        );
        let later = ca.sign("ca", &["-h", "-n", "web1", "-V", "+1d:+2d"]);
        assert!(refusal(&ca, &later, "web1").starts_with("it is not valid before"));
        let user = ca.sign("ca", &["-n", "web1"]);
        assert!(refusal(&ca, &user, "web1").contains("user certificate"));
        let stranger = ca.sign("other_ca", &["-h", "-n", "web1"]);
        assert!(refusal(&ca, &stranger, "web1").contains("that no @cert-authority line"));
        // No principals: any host, as ssh takes it.
        let anybody = ca.sign("ca", &["-h"]);
        assert_eq!(verdict(&ca, &anybody, "web1"), Ok(()));
        // A SHA-1 RSA CA signature (older ssh-keygen's default) is read,
        // and refused; the certified key can still be used plainly.
        ca.keygen(&["-t", "rsa", "-b", "2048", "-N", "", "-f", "rsa_ca"]);
        let sha1 = ca.sign("rsa_ca", &["-h", "-n", "web1", "-t", "ssh-rsa"]);
        let rsa_ca = std::fs::read_to_string(ca.dir.join("rsa_ca.pub")).unwrap();
        let authority = [Authority {
            file: "kh".into(),
            line: 1,
            key: rsa_ca.split_whitespace().nth(1).unwrap().to_string(),
        }];
        let cert = HostCert::parse(&sha1).unwrap();
        assert_eq!(
            cert.check("web1", SystemTime::now(), &authority, |_| None),
            Err(Refusal::Invalid(
                "its CA signed it with ssh-rsa, which OpenSSH's CASignatureAlgorithms does not allow"
                    .into()
            ))
        );
        assert_eq!(
            base64_encode(&cert.plain_key()),
            hk.split_whitespace().nth(1).unwrap()
        );
        let sha2 = ca.sign("rsa_ca", &["-h", "-n", "web1", "-t", "rsa-sha2-512"]);
        let cert = HostCert::parse(&sha2).unwrap();
        assert_eq!(
            cert.check("web1", SystemTime::now(), &authority, |_| None),
            Ok(())
        );
        // One byte changed in what the CA signed (the key id).
        let mut forged = forever.clone();
        let at = forged
            .windows(15)
            .position(|w| w == b"fleetkit-key-id")
            .unwrap();
        forged[at] = b'I';
        assert_eq!(
            refusal(&ca, &forged, "web1"),
            "its CA signature does not verify"
        );
        // A revoked CA is its own refusal.
        let revoked = HostCert::parse(&forever).unwrap().check(
            "web1",
            SystemTime::now(),
            &ca.authority(),
            |_| Some(("kh".into(), 3)),
        );
        assert_eq!(revoked, Err(Refusal::RevokedCa("kh".into(), 3)));
        // Cut anywhere, it is an error, never a panic.
        for n in 0..forever.len() {
            assert!(HostCert::parse(&forever[..n]).is_err());
        }
        let _ = std::fs::remove_dir_all(&ca.dir);
    }

    #[test]
    fn dates() {
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(when(u64::MAX), "forever");
    }
}
