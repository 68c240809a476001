use super::*;

const CONFIG: &str = "
# global
ConnectTimeout 7
Host web* !web13
  User deploy
  Port 2200
  IdentityFile ~/.ssh/web
Host web13
  User admin
Host *
  User nobody
  Port=22
  IdentityFile \"/keys/default key\"
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile /tmp/kh1 /tmp/kh2
  ProxyJump jump@bastion:2222,second
";

#[test]
fn first_match_wins_with_negation() {
    let c = Config::parse(CONFIG, "cfg").unwrap();
    let web = c.resolve_host("web01");
    assert_eq!(web.user(), "deploy");
    assert_eq!(web.port(), 2200);
    assert_eq!(web.all("identityfile").len(), 2);
    assert_eq!(web.all("identityfile")[1].args[0], "/keys/default key");
    assert_eq!(web.first("connecttimeout"), Some("7"));
    let w13 = c.resolve_host("web13");
    assert_eq!(w13.user(), "admin");
    assert_eq!(w13.port(), 22);
    let db = c.resolve_host("db1");
    assert_eq!(db.user(), "nobody");
    assert_eq!(db.yes("identitiesonly"), Some(true));
    assert_eq!(db.first("stricthostkeychecking"), Some("accept-new"));
    assert_eq!(db.get("userknownhostsfile").unwrap().args.len(), 2);
    assert_eq!(db.proxy_jump(), vec!["jump@bastion:2222", "second"]);
}

#[test]
fn the_command_line_wins_over_the_config() {
    let c = Config::parse(CONFIG, "cfg").unwrap();
    let mut q = Query::new("web01");
    q.user = Some("me".into());
    q.port = Some(2);
    let web = c.resolve(&q);
    assert_eq!(web.user(), "me");
    assert_eq!(web.port(), 2);
}

#[test]
fn match_criteria_and_the_final_pass() {
    let text = "
Host alias
  HostName 10.1.2.3
Match originalhost alias user root
  Port 1
Match host 10.1.*
  User root
Match final host 10.1.2.3
  ConnectTimeout 9
Match !localuser nobody-at-all exec \"test %h = 10.1.2.3\"
  IdentityFile /k/%h
Match all
  BatchMode yes
";
    let c = Config::parse(text, "cfg").unwrap();
    let mut q = Query::new("alias");
    q.local_user = "me".into();
    let a = c.resolve(&q);
    assert_eq!(a.hostname(), "10.1.2.3");
    // `Match originalhost alias user root` fails in the first pass (User
    // is set after it) and matches in the final one, as ssh -G shows.
    assert_eq!(a.port(), 1);
    assert_eq!(a.user(), "root");
    assert_eq!(a.first("connecttimeout"), Some("9"));
    assert_eq!(a.all("identityfile")[0].args[0], "/k/%h");
    assert_eq!(a.yes("batchmode"), Some(true));
}

#[test]
fn includes_apply_where_their_block_does() {
    let dir = std::env::temp_dir().join(format!("fleetkit-cfg-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::fs::write(
        dir.join("d/a.conf"),
        "Host db1\n  HostName 10.0.0.1\nUser inc\n",
    )
    .unwrap();
    std::fs::write(dir.join("d/b.conf"), "Port 2022\n").unwrap();
    let text = format!(
        "Host never\n  Include {d}/d/b.conf\nHost *\n  Include {d}/d/*.conf\n",
        d = dir.display()
    );
    let c = Config::parse(&text, "cfg").unwrap();
    let db = c.resolve_host("db1");
    assert_eq!(db.hostname(), "10.0.0.1");
    // The first Include sits in a block that does not apply.
    assert_eq!(db.port(), 2022);
    // `User inc` follows `Host db1` in a.conf: it applies to db1 only.
    assert_eq!(db.user(), "inc");
    assert_eq!(c.resolve_host("other").first("user"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_keywords_are_errors_unless_ignored() {
    let e = Config::parse("Host a\n  Frobnicate yes\n", "cfg").unwrap_err();
    assert_eq!(e.to_string(), "cfg:2: Bad configuration option: frobnicate");
    assert!(Config::parse("IgnoreUnknown Frob*,x\nHost a\n  Frobnicate yes\n", "cfg").is_ok());
    let e = Config::parse("Host a\n  Port many\n", "cfg").unwrap_err();
    assert_eq!(e.to_string(), "cfg:2: Port 'many' is not a port number");
    assert!(Config::parse("Match nonsense x\n", "cfg").is_err());
}

#[test]
fn proxy_command_and_jump_share_one_slot() {
    let c = Config::parse(
        "Host a\n  ProxyCommand nc %h %p\n  ProxyJump j\nHost b\n  ProxyJump none\nHost *\n  ProxyJump x,y\n",
        "cfg",
    )
    .unwrap();
    assert_eq!(
        c.resolve_host("a").proxy_command().as_deref(),
        Some("nc %h %p")
    );
    assert!(c.resolve_host("a").proxy_jump().is_empty());
    assert!(c.resolve_host("b").proxy_jump().is_empty());
    assert_eq!(c.resolve_host("c").proxy_jump(), vec!["x", "y"]);
}

#[test]
fn globs() {
    assert!(glob("web*", "web01"));
    assert!(glob("*.example.com", "a.example.com"));
    assert!(glob("db?", "db1"));
    assert!(!glob("db?", "db10"));
    assert!(glob("*", ""));
    assert!(!glob("a*b", "acd"));
}

#[test]
fn a_proxy_command_is_the_rest_of_the_line_as_written() {
    let c = Config::parse(
        "Host a\n  ProxyCommand sh -c \"exec ssh -W %h:%p 'b c'\"\n",
        "cfg",
    )
    .unwrap();
    assert_eq!(
        c.resolve_host("a").proxy_command().as_deref(),
        Some("sh -c \"exec ssh -W %h:%p 'b c'\"")
    );
}

#[test]
fn an_include_another_user_could_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("fleetkit-cfg-perm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inc = dir.join("inc.conf");
    std::fs::write(&inc, "Match exec \"touch /tmp/never\"\n").unwrap();
    std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = Config::parse(&format!("Include {}\n", inc.display()), "cfg").unwrap_err();
    assert!(e.to_string().contains("Bad owner or permissions"), "{e}");
    std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(Config::parse(&format!("Include {}\n", inc.display()), "cfg").is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn times_and_ports_as_ssh_writes_them() {
    assert_eq!(keywords::seconds("30"), Some(30));
    assert_eq!(keywords::seconds("1m30s"), Some(90));
    assert_eq!(keywords::seconds("5x"), None);
    assert_eq!(keywords::port("ssh"), Some(22));
    assert_eq!(keywords::port("0"), None);
    assert!(Config::parse("ConnectTimeout 1m\nPort ssh\n", "cfg").is_ok());
}

#[test]
fn arguments_split_as_ssh_splits_them() {
    let c = Config::parse(
        "Host a\n  IdentityFile '/tmp/my keys/id'\n  User \"bob\"\n  UserKnownHostsFile /tmp/a\\ b \"/c d\" # comment\n",
        "cfg",
    )
    .unwrap();
    let a = c.resolve_host("a");
    assert_eq!(a.all("identityfile")[0].args, ["/tmp/my keys/id"]);
    assert_eq!(a.user(), "bob");
    assert_eq!(
        a.get("userknownhostsfile").unwrap().args,
        ["/tmp/a b", "/c d"]
    );
    assert!(Config::parse("User 'bob\n", "cfg").is_err());
}
