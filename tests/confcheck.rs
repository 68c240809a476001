//! End-to-end tests of confcheck with the real programs (nginx, Apache,
//! sshd, HAProxy, visudo — installed by scripts/test), user-defined
//! checks, reloads that never follow a failure, fleet mode against the
//! loopback sshd fleet, --from-json, and vim reading the output.

mod util;

use std::process::Command;

use util::Dir;
use util::fleet::Fleet;

/// `confcheck ARGS` in `dir`: (exit code, stdout, stderr).
fn confcheck(dir: &Dir, args: &[&str]) -> (i32, String, String) {
    let out = dir.command("confcheck").args(args).output();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(dir: &Dir, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn nginx_good_and_broken_configs() {
    let dir = Dir::new("cc-nginx");
    dir.create(
        "good.conf",
        "events {}\nhttp {\n  server { listen 127.0.0.1:18080; }\n}\n",
    );
    dir.create(
        "unknown.conf",
        "events {}\nhttp {\n  server {\n    listen 127.0.0.1:18080;\n    foobar on;\n  }\n}\n",
    );
    dir.create(
        "semicolon.conf",
        "events {}\nhttp {\n  server {\n    listen 127.0.0.1:18080\n    server_name x;\n  }\n}\n",
    );
    dir.create(
        "quote.conf",
        "events {}\nhttp {\n  server { return 200 \"open; }\n}\n",
    );
    dir.create(
        "value.conf",
        "events {}\nhttp {\n  server { listen 127.0.0.1:99999; }\n}\n",
    );
    dir.create(
        "inc.conf",
        format!(
            "events {{}}\nhttp {{\n  include {};\n}}\n",
            path(&dir, "sub.conf")
        ),
    );
    dir.create(
        "sub.conf",
        "server {\n  listen 127.0.0.1:18080;\n  bogus_directive 1;\n}\n",
    );
    let (code, out, err) = confcheck(&dir, &["-f", &path(&dir, "good.conf"), "nginx"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.starts_with("nginx: ok "), "{err}");
    assert!(err.ends_with("1 check: 1 ok\n"), "{err}");
    for (file, line, what) in [
        ("unknown.conf", 5, "unknown directive \"foobar\""),
        ("semicolon.conf", 5, "invalid parameter \"server_name\""),
        ("quote.conf", 5, "unexpected end of file"),
        ("value.conf", 3, "invalid port in \"127.0.0.1:99999\""),
        ("sub.conf", 3, "unknown directive \"bogus_directive\""),
    ] {
        let tested = if file == "sub.conf" { "inc.conf" } else { file };
        let (code, out, err) = confcheck(&dir, &["-f", &path(&dir, tested), "nginx"]);
        assert_eq!(code, 1, "{file}: {out}{err}");
        let expected = format!("{}:{line}: error: {what}", path(&dir, file));
        assert!(out.starts_with(&expected), "{file}: {out}");
        assert!(out.trim_end().ends_with("[nginx]"), "{out}");
        assert!(err.contains("nginx: FAILED 1 error"), "{err}");
    }
    // Relative includes: a candidate is tested from the live directory
    // (/etc/nginx), or from --root; the copy made for it is removed.
    dir.create(
        "rel/site.conf",
        "events {}\nhttp {\n  include conf.d/*.conf;\n}\n",
    );
    dir.create(
        "rel/conf.d/x.conf",
        "server {\n  listen 127.0.0.1:18081;\n  foobar 1;\n}\n",
    );
    let site = path(&dir, "rel/site.conf");
    let (code, _, err) = confcheck(&dir, &["-f", &site, "nginx"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = confcheck(&dir, &["-f", &site, "--root", &path(&dir, "rel"), "nginx"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{}:3: error: unknown directive \"foobar\" [nginx]\n",
            path(&dir, "rel/conf.d/x.conf")
        )
    );
    for d in ["/etc/nginx".to_string(), path(&dir, "rel")] {
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("confcheck")
            })
            .collect();
        assert!(left.is_empty(), "copies left in {d}");
    }
    // A warning passes, unless --strict.
    dir.create("warn.conf", "events {}\nhttp {\n  server { listen 127.0.0.1:18080; server_name a; }\n  server { listen 127.0.0.1:18080; server_name a; }\n}\n");
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "warn.conf"), "nginx"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(": warning: conflicting server name \"a\""),
        "{out}"
    );
    let (code, _, _) = confcheck(&dir, &["--strict", "-f", &path(&dir, "warn.conf"), "nginx"]);
    assert_eq!(code, 1);
}

#[test]
fn apache_sshd_haproxy_and_sudoers() {
    let dir = Dir::new("cc-others");
    // Apache: an invalid command, and an error inside an included file.
    let modules = "Include /etc/apache2/mods-enabled/*.load\n";
    let log = format!("ErrorLog {}\n", path(&dir, "error.log"));
    dir.create(
        "a-good.conf",
        format!(
            "ServerRoot /etc/apache2\n{modules}{log}Listen 127.0.0.1:18090\nServerName localhost\n"
        ),
    );
    // Apache cannot reach its log directory: the environment, exit 3.
    dir.create("a-env.conf", format!("ServerRoot /etc/apache2\n{modules}ErrorLog /nonexistent/dir/error.log\nListen 127.0.0.1:18090\nServerName localhost\n"));
    let (code, out, err) = confcheck(&dir, &["-f", &path(&dir, "a-env.conf"), "apache"]);
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("apache: could not run: "), "{err}");
    // No MPM loaded: a config error with no line, against the file.
    dir.create(
        "a-nompm.conf",
        "ServerRoot /etc/apache2\nListen 127.0.0.1:18090\n",
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "a-nompm.conf"), "apache"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{}: error: No MPM loaded. [apache]\n",
            path(&dir, "a-nompm.conf")
        )
    );
    dir.create(
        "a-bad.conf",
        format!("ServerRoot /etc/apache2\n{modules}FooBar on\n"),
    );
    dir.create(
        "a-inc.conf",
        format!(
            "ServerRoot /etc/apache2\n{modules}Include {}\n",
            path(&dir, "a-sub.conf")
        ),
    );
    dir.create(
        "a-sub.conf",
        "# sub\n<Directory /tmp>\n  Require all granted\n",
    );
    assert_eq!(
        confcheck(&dir, &["-f", &path(&dir, "a-good.conf"), "apache"]).0,
        0
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "a-bad.conf"), "apache"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!(
            "{}:3: error: Invalid command 'FooBar'",
            path(&dir, "a-bad.conf")
        )),
        "{out}"
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "a-inc.conf"), "apache"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{}:2: error: <Directory> was not closed. (included from {}:3) [apache]\n",
            path(&dir, "a-sub.conf"),
            path(&dir, "a-inc.conf")
        )
    );
    // sshd: two bad options; and a missing host key is the environment.
    let key = dir.join("hostkey");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    dir.create("s-good", format!("HostKey {}\n", key.display()));
    dir.create(
        "s-bad",
        format!(
            "HostKey {}\nFooBar yes\nPermitRootLogin maybe\n",
            key.display()
        ),
    );
    dir.create("s-env", "HostKey /nonexistent/key\n");
    assert_eq!(confcheck(&dir, &["-f", &path(&dir, "s-good"), "sshd"]).0, 0);
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "s-bad"), "sshd"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{0}:2: error: Bad configuration option: FooBar [sshd]\n{0}:3: error: unsupported option \"maybe\". [sshd]\n",
            path(&dir, "s-bad")
        )
    );
    let (code, out, err) = confcheck(&dir, &["-f", &path(&dir, "s-env"), "sshd"]);
    assert_eq!((code, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("sshd: could not run: "), "{err}");
    assert!(err.contains("1 check: 1 error"), "{err}");
    // HAProxy: an unknown keyword.
    dir.create("h-good.cfg", "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend f\n  bind 127.0.0.1:18095\n  default_backend b\nbackend b\n  server s 127.0.0.1:18096\n");
    dir.create("h-bad.cfg", "global\n  foobar 1\n");
    assert_eq!(
        confcheck(&dir, &["-f", &path(&dir, "h-good.cfg"), "haproxy"]).0,
        0
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "h-bad.cfg"), "haproxy"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!(
            "{}:2: error: unknown keyword 'foobar'",
            path(&dir, "h-bad.cfg")
        )),
        "{out}"
    );
    // sudoers: a syntax error with its column.
    dir.create("sudoers-good", "root ALL=(ALL) ALL\n");
    dir.create(
        "sudoers-bad",
        "root ALL=(ALL) ALL\nfleet ALL=(ALL NOPASSWD: ALL\n",
    );
    assert_eq!(
        confcheck(&dir, &["-f", &path(&dir, "sudoers-good"), "sudoers"]).0,
        0
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "sudoers-bad"), "sudoers"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{}:2:16: error: syntax error [sudoers]\n",
            path(&dir, "sudoers-bad")
        )
    );
}

/// A checks file with a check `app` (fails when /tmp/…/broken exists) that
/// reloads by touching `reloaded`; the program a `ghost` check needs does
/// not exist.
fn checks_file(dir: &Dir, root: &str) -> String {
    let file = dir.create(
        "checks.json",
        format!(
            r#"[{{"name": "app",
  "command": "sh -c 'if [ -e {root}/broken ]; then echo \"{root}/app.conf:7:3: bad value\"; exit 4; fi' %s",
  "file": "{root}/app.conf",
  "fail_codes": [4],
  "pattern": "^(?P<file>[^:]+):(?P<line>\\d+):(?P<column>\\d+): (?P<message>.*)$",
  "reload": "touch {root}/reloaded"}},
 {{"name": "ghost", "command": "no-such-checker %s", "file": "/x", "pattern": "(?P<message>.*)"}}]"#
        ),
    );
    file.display().to_string()
}

#[test]
fn custom_checks_reload_and_then_never_act_after_a_failure() {
    let dir = Dir::new("cc-custom");
    let root = dir.path().display().to_string();
    let checks = checks_file(&dir, &root);
    let reloaded = dir.join("reloaded");
    let then = dir.join("then");
    let then_cmd = format!("touch {}", then.display());
    // Passing: reloaded, then --then runs.
    let (code, _, err) = confcheck(
        &dir,
        &["--checks", &checks, "--reload", "--then", &then_cmd, "app"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("app: ok ") && err.contains(", reloaded"),
        "{err}"
    );
    assert!(reloaded.exists() && then.exists());
    std::fs::remove_file(&reloaded).unwrap();
    std::fs::remove_file(&then).unwrap();
    // Failing: the diagnostic, no reload, no --then.
    dir.create("broken", "");
    let (code, out, err) = confcheck(
        &dir,
        &["--checks", &checks, "--reload", "--then", &then_cmd, "app"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        out,
        format!("{root}/app.conf:7:3: error: bad value [app]\n")
    );
    assert!(!reloaded.exists(), "reloaded after a failed check");
    assert!(!then.exists(), "--then ran after a failed check");
    // A check whose program is missing could not run: exit 3.
    let (code, _, err) = confcheck(&dir, &["--checks", &checks, "ghost"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("ghost: not installed"), "{err}");
    // --list shows both, and an unknown name or a bad file is a usage error.
    let (code, out, _) = confcheck(&dir, &["--checks", &checks, "--list"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("ghost") && l.contains("not installed")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("nginx")), "{out}");
    assert_eq!(confcheck(&dir, &["--checks", &checks, "nosuch"]).0, 2);
    dir.create(
        "bad.json",
        "[{\"name\": \"x\", \"command\": \"x\", \"pattern\": \"(\"}]",
    );
    let (code, _, err) = confcheck(&dir, &["--checks", &path(&dir, "bad.json"), "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.json: check 'x': pattern: "), "{err}");
}

#[test]
fn fleet_mode_reloads_only_hosts_that_passed_and_all_or_nothing_none() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("cc-fleet");
    // Each host's /srv is its own: break the check on the second host.
    let checks = checks_file(&dir, "/srv");
    let rrun = |cmd: &str| {
        dir.command("rrun")
            .arg("-F")
            .arg(fleet.config())
            .arg("--hosts")
            .arg(fleet.hosts_file())
            .arg(cmd)
            .output()
    };
    rrun("rm -f /srv/broken /srv/reloaded; [ $(hostname) != host1 ] || touch /srv/broken");
    let fleet_args = |extra: &[&str]| {
        let mut a = vec![
            "-F".to_string(),
            fleet.config().display().to_string(),
            "--hosts".to_string(),
            fleet.hosts_file().display().to_string(),
            "--checks".to_string(),
            checks.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    // --all-or-nothing: one host fails, so none is reloaded.
    let args = fleet_args(&["--reload", "--all-or-nothing", "app"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = confcheck(&dir, &args);
    assert_eq!(code, 1, "{err}");
    let host1 = &fleet.addrs[1];
    assert_eq!(
        out,
        format!("/srv/app.conf:7:3: error: bad value [app on {host1}]\n")
    );
    assert!(err.contains("no host was reloaded"), "{err}");
    let seen = String::from_utf8(rrun("ls /srv/reloaded 2>/dev/null || true").stdout).unwrap();
    assert_eq!(seen, "", "a host was reloaded");
    // Without it: the hosts that passed are reloaded, the broken one not.
    let args = fleet_args(&["--reload", "--failed", "f", "app"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = confcheck(&dir, &args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("3 hosts: 2 ok, 1 failed"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("f")).unwrap(),
        format!("{host1}\n")
    );
    let seen = String::from_utf8(rrun("ls /srv/reloaded 2>/dev/null || true").stdout).unwrap();
    assert_eq!(seen.lines().count(), 2, "{seen}");
    assert!(!seen.contains(host1.as_str()), "{seen}");
    // All pass: --all-or-nothing reloads every host.
    rrun("rm -f /srv/broken /srv/reloaded");
    let args = fleet_args(&["--reload", "--all-or-nothing", "--json", "app"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = confcheck(&dir, &args);
    assert_eq!(code, 0, "{err}");
    let seen = String::from_utf8(rrun("ls /srv/reloaded").stdout).unwrap();
    assert_eq!(seen.lines().count(), 3, "{seen}");
    // Two rounds: every host checked, then checked again and reloaded.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for line in &lines[3..] {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(r["checks"][0]["check"], "app");
        assert_eq!(r["checks"][0]["result"], "passed");
        assert_eq!(r["checks"][0]["reloaded"], true);
    }
    // The real sshd -t as an unprivileged login is the environment (it
    // cannot read the host keys), never a config error.
    let args = fleet_args(&["sshd"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = confcheck(&dir, &args);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("sshd: could not run: "), "{err}");
}

#[test]
fn from_json_judges_rrun_records() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("cc-from-json");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let conf = dir.create("bad.conf", "events {}\nhttp {\n  foobar on;\n}\n");
    std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let records = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args([
            "--json",
            &format!(
                "/usr/sbin/nginx -t -c {} -g 'pid /tmp/x.pid;'",
                conf.display()
            ),
        ])
        .output()
        .stdout;
    let out = dir
        .command("confcheck")
        .args(["--from-json", "nginx"])
        .stdin(&records)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for addr in &fleet.addrs {
        assert!(
            stdout.contains(&format!(
                "{}:3: error: unknown directive \"foobar\" [nginx on {addr}]",
                conf.display()
            )),
            "{stdout}"
        );
    }
    // Not an rrun record: a usage error naming the line.
    let out = dir
        .command("confcheck")
        .args(["--from-json", "nginx"])
        .stdin("{\"a\":1}\nnope\n")
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:1: no \"host\""));
}

#[test]
fn vim_reads_the_output_as_a_quickfix_list() {
    let dir = Dir::new("cc-vim");
    dir.create(
        "bad.conf",
        "events {}\nhttp {\n  server {\n    foobar on;\n  }\n}\n",
    );
    let (_, out, _) = confcheck(&dir, &["-f", &path(&dir, "bad.conf"), "nginx"]);
    dir.create("errors", out);
    let result = dir.join("result");
    let status = Command::new("vim")
        .args(["-N", "-u", "NONE", "-es", "-q"])
        .arg(dir.join("errors"))
        .arg("-c")
        .arg(format!(
            "redir! > {} | echo expand('%:p') . ':' . line('.') | redir END | qa!",
            result.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let got = std::fs::read_to_string(&result).unwrap();
    assert_eq!(got.trim(), format!("{}:4", path(&dir, "bad.conf")));
    // And with the compiler file's errorformat.
    let compiler =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/vim/compiler/confcheck.vim");
    let status = Command::new("vim")
        .args(["-N", "-u", "NONE", "-es"])
        .arg("-c")
        .arg(format!("source {}", compiler.display()))
        .arg("-c")
        .arg(format!("cfile {}", dir.join("errors").display()))
        .arg("-c")
        .arg(format!(
            "redir! > {} | echo expand('%:p') . ':' . line('.') . ':' . getqflist()[0].type | redir END | qa!",
            result.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let got = std::fs::read_to_string(&result).unwrap();
    assert_eq!(got.trim(), format!("{}:4:e", path(&dir, "bad.conf")));
}

#[test]
fn warnings_deprecations_and_failures_without_a_place() {
    let dir = Dir::new("cc-warnings");
    // sshd ignores a deprecated option (exit 0): a warning, not an error.
    let key = dir.join("hostkey");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    dir.create(
        "s",
        format!("HostKey {}\nUsePrivilegeSeparation yes\n", key.display()),
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "s"), "sshd"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "{}:2: warning: Deprecated option UsePrivilegeSeparation [sshd]\n",
            path(&dir, "s")
        )
    );
    // visudo's warnings count under --strict.
    dir.create("su", "Cmnd_Alias FOO = /bin/ls\nroot ALL=(ALL) ALL\n");
    assert_eq!(confcheck(&dir, &["-f", &path(&dir, "su"), "sudoers"]).0, 0);
    let (code, out, err) = confcheck(&dir, &["--strict", "-f", &path(&dir, "su"), "sudoers"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!(
            "{}:1:12: warning: unused Cmnd_Alias",
            path(&dir, "su")
        )),
        "{out}"
    );
    assert!(
        err.contains("sudoers: FAILED 1 warning (--strict)"),
        "{err}"
    );
    // A warning HAProxy gives without a place is the candidate's, not the
    // live config's.
    dir.create(
        "h.cfg",
        "defaults\n  mode http\nfrontend f\n  bind 127.0.0.1:18097\n",
    );
    let (code, out, _) = confcheck(&dir, &["-f", &path(&dir, "h.cfg"), "haproxy"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!(
            "{}: warning: missing timeouts",
            path(&dir, "h.cfg")
        )),
        "{out}"
    );
    // A user check that fails with nothing its pattern matches still
    // gets a line an editor shows.
    let checks = dir.create(
        "checks.json",
        r#"[{"name": "mute", "command": "sh -c 'echo something broke; exit 1' %s", "file": "/etc/mute.conf", "pattern": "^(?P<file>[^:]+):(?P<line>\\d+): (?P<message>.*)$"}]"#,
    );
    let (code, out, _) = confcheck(&dir, &["--checks", &checks.display().to_string(), "mute"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "/etc/mute.conf: error: failed (exit 1): something broke [mute]\n"
    );
    // -f tests a candidate: reloading the live service after it is refused.
    let (code, _, err) = confcheck(&dir, &["-f", &path(&dir, "su"), "--reload", "sudoers"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--reload would reload a config that was not tested"),
        "{err}"
    );
}

#[test]
fn from_json_refuses_empty_input_and_shows_host_names_as_data() {
    let dir = Dir::new("cc-from-json-hostile");
    let out = dir
        .command("confcheck")
        .args(["--from-json", "nginx"])
        .stdin("")
        .output();
    assert_eq!(out.status.code(), Some(2));
    let record = serde_json::json!({
        "host": "web1\nfake.conf:1: error: gotcha \u{1b}]0;x\u{7}",
        "status": "failed",
        "exit_code": 1,
        "stdout": "",
        "stderr": "2026/11/29 11:11:18 [emerg] 1#1: unknown directive \"x\" in /etc/nginx/nginx.conf:6\n"
    });
    let out = dir
        .command("confcheck")
        .args(["--from-json", "nginx"])
        .stdin(format!("{record}\n"))
        .output();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("/etc/nginx/nginx.conf:6: error: unknown directive"),
        "{stdout}"
    );
    assert!(!stdout.contains('\u{1b}'));
}

#[test]
fn a_signal_ends_a_check_and_everything_it_started() {
    let dir = Dir::new("cc-signal");
    let marker = dir.join("late");
    let checks = dir.create(
        "checks.json",
        format!(
            r#"[{{"name": "slow", "command": "sh -c 'sleep 47.5; touch {}' %s", "file": "/x", "pattern": "(?P<message>never)"}}]"#,
            marker.display()
        ),
    );
    let mut child = std::process::Command::new(util::binary("confcheck"))
        .args(["--checks", &checks.display().to_string(), "slow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(143));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left = Command::new("pgrep")
        .args(["-f", "sleep 47.5"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the check's children were left running"
    );
}

#[test]
fn dns_cron_logging_mail_keepalived_and_systemd_checkers() {
    let dir = Dir::new("cc-dns");
    let cases: [(&str, &str, &str, &str, &str, &str); 14] = [
        (
            "postfix",
            "myhostname = x.example\n",
            "myhostname = x.example\nbad line here\n",
            "main.cf",
            "2",
            "missing '=' after attribute name: \"bad line here\"",
        ),
        (
            "squid",
            "http_port 3128\n",
            "http_port 3128\nfoobar on\n",
            "squid.conf",
            "2",
            "unrecognized: 'foobar'",
        ),
        (
            "varnish",
            "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8080\"; }\n",
            "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8080\"; }\nsub vcl_recv { foobar; }\n",
            "default.vcl",
            "3:16",
            "Symbol not found: 'foobar'",
        ),
        (
            "php-fpm",
            "[global]\nerror_log = /tmp/fleetkit-fpm.log\n[www]\nuser = www-data\ngroup = www-data\nlisten = /tmp/fleetkit-fpm.sock\npm = static\npm.max_children = 1\n",
            "[global]\nerror_log = /tmp/fleetkit-fpm.log\n[www]\nuser = www-data\ngroup = www-data\nlisten = /tmp/fleetkit-fpm.sock\npm = static\npm.max_children = 1\nfoobar = 1\n",
            "www.conf",
            "9",
            "unknown entry 'foobar'",
        ),
        (
            "caddy",
            ":18088 {\n  respond \"hi\"\n}\n",
            ":18088 {\n  foobar\n}\n",
            "Caddyfile",
            "2",
            "unrecognized directive: foobar",
        ),
        (
            "prometheus",
            "global:\n  scrape_interval: 15s\n",
            "global:\n  scrape_interval: 15s\nfoobar: 1\n",
            "prometheus.yml",
            "3",
            "field foobar not found in type config.plain",
        ),
        (
            "crontab",
            "* * * * * /bin/true\n",
            "* * * * * /bin/true\n61 * * * * /bin/true\n",
            "crontab",
            "2",
            "bad minute",
        ),
        (
            "keepalived",
            "global_defs {\n  router_id x\n}\n",
            "global_defs {\n  router_id x\n}\nfoobar\n",
            "keepalived.conf",
            "4",
            "Unknown keyword 'foobar'",
        ),
        (
            "dovecot",
            "protocols = imap\n",
            "protocols = imap\nfoobar = yes\n",
            "dovecot.conf",
            "2",
            "Unknown setting: foobar",
        ),
        (
            "systemd",
            "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n",
            "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\nFooBar=1\n",
            "x.service",
            "5",
            "Unknown key 'FooBar' in section [Service], ignoring.",
        ),
        (
            "bind",
            "options {\n  directory \"/tmp\";\n  recursion yes;\n};\n",
            "options {\n  directory \"/tmp\";\n  recursion yes\n  allow-query { any; };\n};\n",
            "named.conf",
            "4",
            "missing ';' before 'allow-query'",
        ),
        (
            "unbound",
            "server:\n  verbosity: 1\n",
            "server:\n  verbosity: 1\n  foobar: yes\n",
            "unbound.conf",
            "3",
            "unknown keyword 'foobar'",
        ),
        (
            "dnsmasq",
            "port=5353\n",
            "port=5353\nfoobar\n",
            "dnsmasq.conf",
            "2",
            "bad option",
        ),
        (
            "logrotate",
            "/var/log/fleetkit-test.log {\n  daily\n  missingok\n}\n",
            "/var/log/fleetkit-test.log {\n  missingok\n  foobar\n}\n",
            "logrotate.conf",
            "3",
            "unknown option 'foobar' -- ignoring line",
        ),
    ];
    for (check, good, bad, name, line, what) in cases {
        let good_file = dir.create(&format!("{check}/good/{name}"), good);
        let bad_file = dir.create(&format!("{check}/bad/{name}"), bad);
        let (code, out, err) = confcheck(&dir, &["-f", &good_file.display().to_string(), check]);
        assert_eq!((code, out.as_str()), (0, ""), "{check}: {err}");
        let (code, out, err) = confcheck(&dir, &["-f", &bad_file.display().to_string(), check]);
        assert_eq!(code, 1, "{check}: {out}{err}");
        // The first problem, where the program reported it (Unbound goes
        // on to report the rest of that line as well).
        assert_eq!(
            out.lines().next().unwrap_or(""),
            format!("{}:{line}: error: {what} [{check}]", bad_file.display()),
            "{check}"
        );
    }
    // rsyslog names the file in its message too.
    let good = dir.create("rsyslog/good.conf", "*.* /dev/null\n");
    let bad = dir.create("rsyslog/bad.conf", "*.* /dev/null\nfoobar on\n");
    assert_eq!(
        confcheck(&dir, &["-f", &good.display().to_string(), "rsyslog"]).0,
        0
    );
    let (code, out, _) = confcheck(&dir, &["-f", &bad.display().to_string(), "rsyslog"]);
    assert_eq!(code, 1);
    let b = bad.display();
    assert_eq!(
        out,
        format!("{b}:2: error: warnings occurred in file '{b}' around line 2 [rsyslog]\n")
    );
}

#[test]
fn bad_values_and_broken_included_files_name_the_exact_place() {
    let dir = Dir::new("cc-variants");
    let modules = "Include /etc/apache2/mods-enabled/*.load\n";
    // (check, file to test, its content, file named, place, message)
    let key = dir.join("hostkey");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    let sshd_inc = dir.create("sshd_inc", "PasswordAuthentication perhaps\n");
    let sudo_inc = dir.create("sudo_inc", "fleet ALL=(ALL NOPASSWD: ALL\n");
    let cases = [
        (
            "apache",
            format!("ServerRoot /etc/apache2\n{modules}Listen notaport\n"),
            None,
            "3",
            "Port must be specified",
        ),
        (
            "haproxy",
            "defaults\n  mode http\n  timeout client notatime\n".to_string(),
            None,
            "3",
            "unexpected character 'n' in 'timeout client'",
        ),
        (
            "sshd",
            format!("HostKey {}\nInclude {}\n", key.display(), sshd_inc.display()),
            Some(&sshd_inc),
            "1",
            "unsupported option \"perhaps\".",
        ),
        (
            "sudoers",
            format!("root ALL=(ALL) ALL\n@include {}\n", sudo_inc.display()),
            Some(&sudo_inc),
            "1:16",
            "syntax error",
        ),
        (
            "nginx",
            "events {}\nhttp {\n  server { listen 127.0.0.1:18080; server_name \"unterminated; }\n}\n".to_string(),
            None,
            "5",
            "unexpected end of file, expecting \";\" or \"}\"",
        ),
    ];
    for (check, content, named, place, what) in cases {
        let file = dir.create(&format!("{check}.conf"), content);
        let (code, out, err) = confcheck(&dir, &["-f", &file.display().to_string(), check]);
        assert_eq!(code, 1, "{check}: {out}{err}");
        let shown = named.unwrap_or(&file).display().to_string();
        assert_eq!(
            out.lines().next().unwrap_or(""),
            format!("{shown}:{place}: error: {what} [{check}]"),
            "{check}"
        );
    }
}
