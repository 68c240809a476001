//! The OpenSSH transport (`--ssh=openssh`, and what auto gives it): rrun's
//! output modes, statuses, deadline and input through the system's ssh,
//! and a login only OpenSSH can make (a user certificate), taken
//! automatically.

mod util;

use std::process::Command;

use util::Dir;
use util::fleet::{Fleet, keys};

fn sorted(text: &str) -> Vec<String> {
    let mut l: Vec<String> = text.lines().map(String::from).collect();
    l.sort();
    l
}

#[test]
fn rrun_over_openssh_has_the_native_modes_and_statuses() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("openssh-modes");
    let run = |args: &[&str]| {
        let mut c = fleet.rrun(&dir);
        c.arg("--ssh=openssh").args(args);
        c
    };
    let (out, err) = run(&["echo out; echo err >&2"]).expect_exit_text(0);
    assert_eq!(sorted(&out), ["127.0.0.2: out", "127.0.0.3: out"]);
    assert!(
        err.contains("127.0.0.2: err") && err.contains("2 hosts: 2 ok"),
        "{err}"
    );
    let (out, _) = run(&["--json", "printf 'a\\nb'; exit 3"]).expect_exit_text(1);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["exit_code"], 3);
        assert_eq!(v["stdout"], "a\nb");
    }
    let (out, _) = run(&["-g", "echo same"]).expect_exit_text(0);
    assert!(out.contains("same"), "{out}");
    // Standard input, then its end.
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--ssh=openssh", "-I", "wc -c"])
        .stdin("12345")
        .expect_exit_text(0);
    assert_eq!(sorted(&out), ["127.0.0.2: 5", "127.0.0.3: 5"]);
    // The deadline hangs the command up on its terminal.
    let started = std::time::Instant::now();
    let (out, err) = run(&["-t", "1", "echo begun; sleep 30"]).expect_exit_text(3);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(out.contains("127.0.0.2: begun"), "{out}");
    assert!(err.contains("2 hosts: 2 timeout"), "{err}");
    // A refused login and a closed port are ssh's failures, not exits.
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--ssh=openssh", "-H", "nosuchuser@127.0.0.2", "true"])
        .expect_exit_text(3);
    assert!(err.contains("1 auth"), "{err}");
    let port = util::fleet::free_port();
    let (_, err) = dir
        .command("rrun")
        .args(["--ssh=openssh", "-H", &format!("127.0.0.2:{port}"), "true"])
        .expect_exit_text(3);
    assert!(err.contains("1 unreachable"), "{err}");
}

#[test]
fn a_user_certificate_login_takes_openssh_automatically() {
    // sshd trusts a CA; the client has a key that is not in
    // authorized_keys, and a certificate for it. libssh2 cannot offer the
    // certificate, so auto gives the host to OpenSSH.
    let dir = Dir::new("openssh-cert");
    let keygen = |args: &[&str]| {
        assert!(
            Command::new("ssh-keygen")
                .args(args)
                .current_dir(dir.path())
                .status()
                .unwrap()
                .success()
        );
    };
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", "ca"]);
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", "user"]);
    keygen(&["-q", "-s", "ca", "-I", "test", "-n", "fleet", "user.pub"]);
    let fleet = Fleet::start_configured(
        1,
        &keys().host_key,
        &format!("TrustedUserCAKeys {}\n", dir.join("ca.pub").display()),
    );
    let config = dir.create(
        "config",
        format!(
            "Host 127.*\n  User fleet\n  Port {}\n  IdentityFile {}\n  CertificateFile {}\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            fleet.port,
            dir.join("user").display(),
            dir.join("user-cert.pub").display(),
            fleet.known_hosts().display()
        ),
    );
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-v", "-H", "127.0.0.2", "whoami"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: fleet\n", "{err}");
    assert!(err.contains("1 of 1 hosts over OpenSSH"), "{err}");
    assert!(
        err.contains("ssh_config needs OpenSSH for 127.0.0.2"),
        "{err}"
    );
    // --ssh=native refuses it, naming the keyword and where it is.
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["--ssh=native", "-H", "127.0.0.2", "whoami"])
        .expect_exit_text(2);
    assert!(err.contains("config:5: certificatefile"), "{err}");
}

#[test]
fn with_a_deadline_the_end_of_input_still_reaches_the_command() {
    // -t runs the command on a terminal; end of input must still arrive
    // (as ^D), or `cat` would wait for the deadline.
    let fleet = Fleet::start(1);
    let dir = Dir::new("openssh-eot");
    for ssh in ["native", "openssh"] {
        let started = std::time::Instant::now();
        let (out, err) = fleet
            .rrun(&dir)
            .args([&format!("--ssh={ssh}"), "-t", "20", "cat; echo done"])
            .expect_exit_text(0);
        assert_eq!(out, "127.0.0.2: done\n", "{ssh}: {err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{ssh}"
        );
        let (out, err) = fleet
            .rrun(&dir)
            .args([&format!("--ssh={ssh}"), "-I", "-t", "20", "cat; echo done"])
            .stdin("no newline at the end")
            .expect_exit_text(0);
        // The input ends without a newline, so cat's output runs into
        // done's: the bytes arrived exactly, then the end.
        assert_eq!(
            out, "127.0.0.2: no newline at the enddone\n",
            "{ssh}: {err}"
        );
    }
}

#[test]
fn command_bytes_arrive_exactly() {
    // A Latin-1 byte and 0xff: not UTF-8. ssh sends them unchanged;
    // libssh2 sends only UTF-8, so auto takes OpenSSH for this command.
    use std::os::unix::ffi::OsStrExt;
    let fleet = Fleet::start(1);
    let dir = Dir::new("openssh-bytes");
    let raw = std::ffi::OsStr::from_bytes(b"printf %s caf\xe9\xff | od -An -tx1");
    for ssh in ["--ssh=auto", "--ssh=openssh"] {
        let (out, err) = fleet
            .rrun(&dir)
            .args([ssh, "-v"])
            .arg(raw)
            .expect_exit_text(0);
        assert_eq!(out, "127.0.0.2:  63 61 66 e9 ff\n", "{ssh}: {err}");
        assert!(err.contains("1 of 1 hosts over OpenSSH"), "{err}");
        assert!(err.contains("the command is not UTF-8"), "{err}");
    }
    // --ssh=native says why it cannot, and runs nothing.
    let (out, err) = fleet
        .rrun(&dir)
        .arg("--ssh=native")
        .arg(raw)
        .expect_exit_text(2);
    assert_eq!(out, "");
    assert!(
        err.contains("the command is not UTF-8 (libssh2 sends only UTF-8 commands), which --ssh=native cannot do"),
        "{err}"
    );
    // A command longer than libssh2 sends (one 32 KiB packet) goes over
    // OpenSSH too; --ssh=native refuses it by name.
    let long = format!(": {}; echo long", "x".repeat(40_000));
    let (out, err) = fleet.rrun(&dir).args(["-v", &long]).expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: long\n", "{err}");
    assert!(err.contains("the command is 40013 bytes long"), "{err}");
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--ssh=native", &long])
        .expect_exit_text(2);
    assert!(err.contains("libssh2 sends at most"), "{err}");
    // UTF-8 goes native, byte for byte.
    let (out, err) = fleet
        .rrun(&dir)
        .args(["--ssh=auto", "-v", "printf %s café | od -An -tx1"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2:  63 61 66 c3 a9\n", "{err}");
    assert!(err.contains("0 of 1 hosts over OpenSSH"), "{err}");
}
