//! The `raabta` binary end to end, and bad input: clear errors, nothing changed.

use crate::support::{Kind, TestEnv};
use raabta::app::App;
use raabta::domain::Secret;
use raabta::store::StoreError;
use std::path::Path;
use std::process::{Command, Output};

fn raabta(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raabta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", dir)
        .env("RAABTA_KEY_CACHE_SECONDS", "0")
        .output()
        .expect("run raabta")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn cli_creates_imports_issues_codes_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = raabta(
        d,
        &[
            "tenant",
            "create",
            "city-school",
            "--name",
            "City School",
            "--timezone",
            "Asia/Riyadh",
            "--locale",
            "ar",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("created school city-school"));

    let o = raabta(d, &["tenant", "create", "Bad Slug", "--name", "x"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("slug"), "{:?}", text(&o));

    // A roster with bad rows: every one reported by line, nothing imported.
    let bad = d.join("bad.csv");
    std::fs::write(
        &bad,
        "admission_no,student_name,class,gender,guardian_name,guardian_phone\n\
         S-1,سارہ,Grade 2,female,أحمد,0501234567\n\
         S-2,Omar,,male,,\n\
         S-3,Huda,Grade 2,dragon,,\n",
    )
    .unwrap();
    let o = raabta(
        d,
        &[
            "import",
            "roster",
            "--tenant",
            "city-school",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(err.contains("line 3: class is required"), "{err}");
    assert!(err.contains("line 4: unknown gender"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    // The good rows alone import; a Saudi local number is read in the school's region.
    let good = d.join("good.csv");
    std::fs::write(
        &good,
        "admission_no,student_name,class,gender,guardian_name,guardian_phone\nS-1,سارہ,Grade 2,female,أحمد,0501234567\n",
    )
    .unwrap();
    let o = raabta(
        d,
        &[
            "import",
            "roster",
            "--tenant",
            "city-school",
            good.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("1 students created"));

    let o = raabta(
        d,
        &[
            "import",
            "roster",
            "--tenant",
            "no-such-school",
            good.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("unknown school"), "{:?}", text(&o));

    let fees = d.join("fees.csv");
    std::fs::write(&fees, "admission_no,period,description,amount,currency,due_date\nS-1,2026-11,Tuition,1200,SAR,2026-11-10\nS-9,2026-11,Tuition,1200,SAR,2026-11-10\n").unwrap();
    let o = raabta(
        d,
        &[
            "import",
            "fees",
            "--tenant",
            "city-school",
            fees.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("line 3: unknown admission_no"),
        "{:?}",
        text(&o)
    );

    let o = raabta(
        d,
        &[
            "codes",
            "issue",
            "--tenant",
            "city-school",
            "--phone",
            "+966501234567",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let code = text(&o).0.trim().to_string();
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(&code[4..5], "-");
    let o = raabta(
        d,
        &[
            "codes",
            "issue",
            "--tenant",
            "city-school",
            "--phone",
            "+966509999999",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("has that phone number"));

    let o = raabta(d, &["tenant", "list"]);
    assert!(
        text(&o)
            .0
            .contains("city-school\tCity School\tAsia/Riyadh\tar\tactive"),
        "{:?}",
        text(&o)
    );
    let o = raabta(d, &["keys", "rotate", "--tenant", "city-school"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o).0.contains("data key 2 is active"),
        "{:?}",
        text(&o)
    );
    let o = raabta(d, &["migrate"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("city-school: 0 migration(s) applied"));

    let o = raabta(d, &["tenant", "purge", "city-school"]);
    assert!(!o.status.success(), "purge without --yes must refuse");
    let o = raabta(d, &["tenant", "purge", "city-school", "--yes"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = raabta(d, &["tenant", "list"]);
    assert!(text(&o).0.contains("no schools yet"));
}

#[tokio::test]
async fn malformed_database_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mysql://localhost/x",
        "postgres://:::/",
        "sqlite://:memory:",
        "nonsense",
    ] {
        let mut config = crate::support::test_config(dir.path());
        config.database_url = Secret::new(url.to_string());
        let err = App::build(config)
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        assert!(
            matches!(&err, raabta::app::AppError::Store(StoreError::BadUrl(_))),
            "{url}: {err}"
        );
        assert!(
            !err.to_string().contains(":::"),
            "the URL must not be echoed: {err}"
        );
    }
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_before_anything_is_written() {
    let env = TestEnv::new(Kind::Sqlite).await;
    env.school("keyed").await;
    let mut config = crate::support::test_config(env.dir.path());
    config.master_key = Some(Secret::new(
        raabta::store::crypto::MasterKey::generate().to_base64(),
    ));
    let err = App::build(config).await.err().expect("refused");
    assert!(
        matches!(
            err,
            raabta::app::AppError::Store(StoreError::WrongMasterKey)
        ),
        "{err}"
    );
    // The original key still opens the school.
    let s = env.app.tenancy.school("keyed").await.unwrap();
    assert_eq!(s.store.counts().await.unwrap().students, 0);

    let mut config = crate::support::test_config(env.dir.path());
    config.master_key = Some(Secret::new("too-short".into()));
    assert!(App::build(config)
        .await
        .err()
        .unwrap()
        .to_string()
        .contains("RAABTA_MASTER_KEY"));
}

#[test]
fn first_run_seeds_the_demo_school_and_says_where_to_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_raabta"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", dir.path())
        .env("RAABTA_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while !seen.contains("Stop with Ctrl-C") && std::time::Instant::now() < deadline {
        use std::io::Read;
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("/admin"), "{seen}");
    assert!(seen.contains("admin@demo.raabta.test"), "{seen}");
    assert!(seen.contains("+923001110001"), "{seen}");
    assert!(seen.contains("access code"), "{seen}");
    assert!(seen.contains("chat --tenant demo --from"), "{seen}");
    assert!(seen.contains("serving 1 school(s)"), "{seen}");
    assert!(dir.path().join("DEMO.txt").exists());
}

/// `raabta` run from an empty directory far from the repository (as an installed binary
/// is), with `stdin` as its input.
fn raabta_elsewhere(
    cwd: &Path,
    data: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_raabta"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", data)
        .env("RAABTA_KEY_CACHE_SECONDS", "0")
        .env("RAABTA_SEED_DEMO", "false")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run raabta");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// How many flows the repository ships (`flows/*.yaml` but the templates).
fn shipped_flows() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/flows"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".yaml") && name != "templates.yaml" && name != "intents.yaml"
        })
        .count()
}

#[test]
fn the_flows_are_built_in_and_a_configured_directory_that_is_missing_is_one_line() {
    let cwd = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (cwd, data) = (cwd.path(), data.path());

    // Nothing beside the binary: the embedded flows.
    let o = raabta_elsewhere(cwd, data, &["flows", "check"], &[], "");
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(
        out.contains(&format!("the embedded flows: {} flows", shipped_flows())),
        "{out}"
    );

    // The simulator starts there too and answers.
    let o = raabta_elsewhere(
        cwd,
        data,
        &["tenant", "create", "elm-school", "--name", "Elm School"],
        &[],
        "",
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = raabta_elsewhere(
        cwd,
        data,
        &["chat", "--tenant", "elm-school", "--from", "+923001234567"],
        &[("RAABTA_LOG", "warn")],
        "hello\n/quit\n",
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.contains("Chatting with Elm School"), "{out}");
    assert!(out.contains("bot> "), "{out}");
    assert!(
        std::fs::read_dir(cwd).unwrap().next().is_none(),
        "nothing written to the current directory"
    );

    // A configured directory replaces them entirely; a missing one is one line naming
    // it, for each command that loads flows, and no backtrace even when asked for one.
    for args in [
        &["flows", "check"][..],
        &["serve"][..],
        &["chat", "--tenant", "elm-school", "--from", "+923001234567"][..],
    ] {
        let o = raabta_elsewhere(
            cwd,
            data,
            args,
            &[
                ("RAABTA_FLOWS_DIR", "/nonexistent/flows"),
                ("RAABTA_LISTEN", "127.0.0.1:0"),
                ("RAABTA_LOG", "warn"),
                ("RUST_BACKTRACE", "1"),
            ],
            "hello\n",
        );
        assert!(!o.status.success(), "{args:?}: {:?}", text(&o));
        let (_, err) = text(&o);
        assert_eq!(
            err, "raabta: flows directory /nonexistent/flows: No such file or directory\n",
            "{args:?}"
        );
        assert!(!err.contains("acktrace") && !err.contains("Stack"), "{err}");
    }

    // A directory that is there but incomplete says what is missing, in one line.
    let o = raabta_elsewhere(
        cwd,
        data,
        &["flows", "check", "--dir", cwd.to_str().unwrap()],
        &[],
        "",
    );
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert_eq!(
        err,
        format!(
            "raabta: flows directory {}: locales/en.ftl: not found\n",
            cwd.display()
        )
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn flows_check_names_file_step_and_problem_and_the_server_refuses_bad_flows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = raabta(d, &["flows", "check"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o).0.contains(&format!("{} flows", shipped_flows())),
        "{:?}",
        text(&o)
    );
    // Break a copy: a step going nowhere, and a text missing in Urdu.
    let flows = d.join("flows");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("flows"), &flows);
    let leave = std::fs::read_to_string(flows.join("leave.yaml")).unwrap();
    std::fs::write(
        flows.join("leave.yaml"),
        leave.replace("next: kind", "next: kinds"),
    )
    .unwrap();
    let ur = std::fs::read_to_string(flows.join("locales/ur.ftl")).unwrap();
    std::fs::write(
        flows.join("locales/ur.ftl"),
        ur.replace("leave-reason =", "leave-reasons ="),
    )
    .unwrap();
    let o = raabta(d, &["flows", "check", "--dir", flows.to_str().unwrap()]);
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(
        err.contains("leave.yaml, step \"only\": goes to step \"kinds\", which does not exist"),
        "{err}"
    );
    assert!(
        err.contains("leave.yaml, step \"reason\": text \"leave-reason\" is missing in ur.ftl"),
        "{err}"
    );
    // The server will not start on them either, and says why.
    let o = Command::new(env!("CARGO_BIN_EXE_raabta"))
        .args(["serve"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RAABTA_DATA_DIR", d)
        .env("RAABTA_FLOWS_DIR", &flows)
        .env("RAABTA_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(err.contains("invalid flows"), "{err}");
    assert!(err.contains("goes to step \"kinds\""), "{err}");
}

#[test]
fn consent_leave_and_handoff_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = raabta(
        d,
        &["tenant", "create", "oak-school", "--name", "Oak School"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let roster = d.join("roster.csv");
    std::fs::write(
        &roster,
        "admission_no,student_name,class,section,guardian_name,guardian_phone\n\
         O-1,Ali,Grade 4,A,Asma,0300 5550001\n\
         O-2,Sara,Grade 4,A,Bilal,0300 5550002\n\
         O-3,Noor,Grade 6,,Huma,0300 5550003\n",
    )
    .unwrap();
    let o = raabta(
        d,
        &[
            "import",
            "roster",
            "--tenant",
            "oak-school",
            roster.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let deadline = (chrono::Utc::now() + chrono::Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    let send = |classes: &str, deadline: &str| {
        raabta(
            d,
            &[
                "consent",
                "send",
                "--tenant",
                "oak-school",
                "--title",
                "Picnic",
                "--description",
                "A day at the lake",
                "--deadline",
                deadline,
                "--classes",
                classes,
            ],
        )
    };
    let o = send("Grade 9", &deadline);
    assert!(!o.status.success());
    assert!(
        text(&o)
            .1
            .contains("no class \"Grade 9\"; classes are: Grade 4 A, Grade 6"),
        "{:?}",
        text(&o)
    );
    let o = send("Grade 4 A", "2020-01-01");
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("--deadline has passed"),
        "{:?}",
        text(&o)
    );
    let o = send("grade 4 a", &deadline);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    // Nobody has logged in yet: the requests exist, and staff are told who to reach.
    assert!(out.contains("2 request(s)"), "{out}");
    assert!(out.contains("2 guardian(s) have not logged in"), "{out}");
    let form = out
        .lines()
        .find_map(|l| l.strip_prefix("consent form "))
        .unwrap()
        .to_string();
    let o = raabta(
        d,
        &[
            "consent",
            "status",
            "--tenant",
            "oak-school",
            "--form",
            &form,
        ],
    );
    assert!(
        text(&o)
            .0
            .contains("Picnic: 0 approved, 0 declined, 2 no answer"),
        "{:?}",
        text(&o)
    );
    let o = raabta(
        d,
        &[
            "leave",
            "list",
            "--tenant",
            "oak-school",
            "--status",
            "later",
        ],
    );
    assert!(!o.status.success());
    let missing = uuid::Uuid::now_v7().to_string();
    let o = raabta(
        d,
        &[
            "leave",
            "decide",
            "--tenant",
            "oak-school",
            "--id",
            &missing,
            "--approve",
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("no pending leave request"),
        "{:?}",
        text(&o)
    );
    let o = raabta(
        d,
        &[
            "handoff",
            "release",
            "--tenant",
            "oak-school",
            "--conversation",
            &missing,
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("is not handed off"), "{:?}", text(&o));
    let o = raabta(
        d,
        &[
            "tenant",
            "setting",
            "oak-school",
            "recognise_roster_phones",
            "maybe",
        ],
    );
    assert!(!o.status.success());
    // Unbinding a guardian's chats: nobody has logged in yet, so none; an unknown
    // number is refused.
    let o = raabta(
        d,
        &[
            "codes",
            "unbind",
            "--tenant",
            "oak-school",
            "--phone",
            "0300 5550001",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("0 chat(s) unbound"), "{:?}", text(&o));
    let o = raabta(
        d,
        &[
            "codes",
            "unbind",
            "--tenant",
            "oak-school",
            "--phone",
            "0300 5559999",
        ],
    );
    assert!(!o.status.success());
    let o = raabta(
        d,
        &[
            "tenant",
            "setting",
            "oak-school",
            "recognise_roster_phones",
            "on",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn users_add_creates_staff_accounts_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(raabta(
        d,
        &["tenant", "create", "pine-school", "--name", "Pine School"]
    )
    .status
    .success());
    let roster = d.join("roster.csv");
    std::fs::write(
        &roster,
        "admission_no,student_name,class,section,guardian_name,guardian_phone\nP-1,Ali,Grade 4,A,Asma,0300 5550001\n",
    )
    .unwrap();
    assert!(raabta(
        d,
        &[
            "import",
            "roster",
            "--tenant",
            "pine-school",
            roster.to_str().unwrap()
        ]
    )
    .status
    .success());
    let add = |extra: &[&str]| {
        let mut args = vec!["users", "add", "--tenant", "pine-school"];
        args.extend_from_slice(extra);
        raabta(d, &args)
    };
    let o = add(&[
        "--email",
        "t@pine.test",
        "--name",
        "Teacher",
        "--role",
        "teacher",
        "--classes",
        "Grade 9",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("no class \"Grade 9\""),
        "{:?}",
        text(&o)
    );
    let o = add(&["--email", "nope", "--name", "X", "--role", "teacher"]);
    assert!(!o.status.success());
    let o = add(&[
        "--email",
        "t@pine.test",
        "--name",
        "Teacher",
        "--role",
        "wizard",
    ]);
    assert!(!o.status.success());
    let o = add(&[
        "--email",
        "t@pine.test",
        "--name",
        "Teacher",
        "--role",
        "teacher",
        "--classes",
        "Grade 4 A",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.contains("password (shown once): "), "{out}");
    let o = add(&[
        "--email",
        "T@pine.test",
        "--name",
        "Again",
        "--role",
        "teacher",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("already has an account"),
        "{:?}",
        text(&o)
    );
    // A password link for an account, for services without email; unknown emails fail.
    let o = raabta(
        d,
        &[
            "users",
            "reset-link",
            "--tenant",
            "pine-school",
            "--email",
            "nobody@pine.test",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no staff account"), "{:?}", text(&o));
    let o = raabta(
        d,
        &[
            "users",
            "reset-link",
            "--tenant",
            "pine-school",
            "--email",
            "t@pine.test",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.contains("/admin/reset/pine-school."), "{out}");
    assert!(out.contains("single use, valid 30 minutes"), "{out}");
}

#[test]
fn the_vendors_school_takes_schools_enquiries_with_the_service_faq() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = raabta(
        d,
        &[
            "tenant", "create", "platform", "--name", "Raabta", "--vendor",
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("vendor's school"), "{out}");
    let o = raabta(d, &["faq", "export", "--tenant", "platform"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.starts_with("id,language,question,answer"), "{out}");
    assert!(out.contains("what-is,en,What is Raabta?"), "{out}");
    // The setting is a school setting like the others; a bad value is refused.
    let o = raabta(d, &["tenant", "setting", "platform", "vendor", "maybe"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("vendor is on or off"), "{:?}", text(&o));
    let o = raabta(d, &["tenant", "setting", "platform", "vendor", "off"]);
    assert!(o.status.success(), "{:?}", text(&o));
}
