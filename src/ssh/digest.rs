//! The encoding and hashing known_hosts needs, from well-kept crates (the
//! host-key trust path holds no hand-written crypto): base64 and
//! HMAC-SHA1 (hashed host names are `|1|base64(salt)|base64(HMAC-SHA1
//! (salt, name))|`), and OpenSSH's `SHA256:` key fingerprints.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Digest;

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard base64 (padding optional, whitespace not allowed).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| STANDARD_NO_PAD.decode(text).ok())
}

/// HMAC-SHA1 of `message` under `key`.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC accepts a key of any length: new_from_slice cannot fail.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A key blob's fingerprint as OpenSSH prints it: `SHA256:` and unpadded
/// base64.
pub fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_vectors() {
        // RFC 2202 test cases 1 and 2.
        assert_eq!(
            hex(&hmac_sha1(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("not base64!").is_none());
    }
}
