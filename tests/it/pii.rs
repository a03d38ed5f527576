//! The PII redactor from the command line (issue 16): `raabta pii redact` with a
//! school's roster, and a bad line.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_redact_uses_the_schools_roster_and_refuses_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::test_config(dir.path());
    let app = raabta::app::App::build(config).await.unwrap();
    raabta::seed::seed_if_empty(&app.tenancy).await.unwrap();
    drop(app);
    let run = |input: &str| {
        crate::support::raabta_with_input(
            dir.path(),
            &["pii", "redact", "--tenant", raabta::seed::DEMO_SLUG],
            input,
        )
    };
    // The demo roster's names (Ayesha Khan, Imran Khan, «زینب علی») and identifiers in
    // any digit script; the date, the amount and the class stay.
    let out = run(concat!(
        r#"{"text": "Ayesha Khan ki fees Rs 4,500 thi, Imran Khan ka CNIC 35202-7654321-1 hai, 12 March, Grade 5"}"#,
        "\n",
        r#"{"text": "زینب علی کے والد کا نمبر ۰۳۰۰۱۲۳۴۵۶۷ ہے"}"#,
        "\n"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let first = lines[0]["text"].as_str().unwrap();
    assert_eq!(
        first,
        "[PERSON_1] ki fees Rs 4,500 thi, [PERSON_2] ka CNIC [CNIC_1] hai, 12 March, Grade 5"
    );
    let types: Vec<&str> = lines[0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["PERSON", "PERSON", "CNIC"]);
    // Offsets are characters of the input.
    assert_eq!(lines[0]["entities"][0]["start"], 0);
    assert_eq!(lines[0]["entities"][0]["end"], 11);
    let second = lines[1]["text"].as_str().unwrap();
    assert!(
        !second.contains("۰۳۰۰") && !second.contains("زینب"),
        "{second}"
    );
    assert!(
        second.contains("[PHONE_1]") && second.contains("[PERSON_1]"),
        "{second}"
    );

    let out = run("{\"text\": \"ok\"}\n{\"txt\": 1}\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
