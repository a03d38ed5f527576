//! Staff sign-in for the web admin, on both backends: lockouts, two-factor, recovery
//! codes, session timeouts, CSRF, signing out everywhere.

use crate::support::TestEnv;
use chrono::{Duration, Utc};
use raabta::admin::auth::{Auth, AuthError, NextStep, SessionToken, TwoFactor};
use raabta::domain::activity::ActivityEntry;
use raabta::domain::roster::{StaffRole, StaffUser};
use raabta::domain::StaffId;
use std::net::IpAddr;

async fn staff(
    env: &TestEnv,
    school: &raabta::store::tenancy::School,
    email: &str,
    role: StaffRole,
    pw: &str,
) -> StaffId {
    let s = StaffUser {
        id: StaffId::new(),
        full_name: format!("Staff {email}"),
        email: email.into(),
        phone: None,
        role,
        branch: None,
        password_hash: Some(raabta::password::hash(pw.into()).await.unwrap()),
    };
    let _ = env;
    let act = ActivityEntry::now("test", "staff.create", None, "test", serde_json::json!({}));
    school.store.create_staff(&s, &act).await.unwrap();
    s.id
}

fn ip(n: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, n])
}

async fn sign_in_two_factor_and_sessions(env: &TestEnv) {
    let school = env.school("auth").await;
    let store = school.store.as_ref();
    let admin = staff(
        env,
        &school,
        "head@auth.test",
        StaffRole::Admin,
        "correct horse battery",
    )
    .await;
    staff(
        env,
        &school,
        "teacher@auth.test",
        StaffRole::Teacher,
        "teacher password 1",
    )
    .await;
    let auth = Auth::new();
    let now = Utc::now();

    // Unknown email and wrong password look the same.
    assert!(matches!(
        auth.sign_in(store, "nobody@auth.test", "x", ip(1), now)
            .await,
        Err(AuthError::Invalid)
    ));
    // A teacher without two-factor is signed in at once.
    let t = auth
        .sign_in(store, "TEACHER@auth.test", "teacher password 1", ip(1), now)
        .await
        .unwrap();
    assert_eq!(t.next, NextStep::Done);
    assert!(
        auth.session(store, &t.token, now)
            .await
            .unwrap()
            .unwrap()
            .mfa_done
    );

    // An admin must enrol in two-factor; until then the session has not passed it.
    let a = auth
        .sign_in(store, "head@auth.test", "correct horse battery", ip(1), now)
        .await
        .unwrap();
    assert_eq!(a.next, NextStep::EnrolTotp);
    let s = auth.session(store, &a.token, now).await.unwrap().unwrap();
    assert!(!s.mfa_done);
    let enrol = auth
        .begin_enrolment(store, &s.staff, "head@auth.test", "Raabta", now)
        .await
        .unwrap();
    assert!(enrol.qr_svg.contains("<svg"));
    assert!(enrol
        .otpauth_url
        .expose()
        .starts_with("otpauth://totp/Raabta:head%40auth.test?secret="));
    assert_eq!(enrol.recovery_codes.len(), 10);
    let secret = store
        .staff_auth(admin)
        .await
        .unwrap()
        .unwrap()
        .totp_secret
        .unwrap();
    // A wrong code is refused (one in a million would match by chance: a fixed wrong
    // one is derived from the right one).
    let right = Auth::current_code(secret.expose(), now).unwrap();
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let sf = |token: SessionToken, code: String| {
        let auth = &auth;
        async move {
            auth.second_factor(store, &token, &code, ip(1), now)
                .await
                .unwrap()
        }
    };
    assert!(matches!(sf(a.token.clone(), wrong).await, TwoFactor::Wrong));
    let code = Auth::current_code(secret.expose(), now).unwrap();
    let TwoFactor::Passed(fresh) = sf(a.token.clone(), code.clone()).await else {
        panic!("the right code passes")
    };
    // The session was replaced: the old token is gone, the new one has passed.
    assert!(auth.session(store, &a.token, now).await.unwrap().is_none());
    assert!(
        auth.session(store, &fresh, now)
            .await
            .unwrap()
            .unwrap()
            .mfa_done
    );
    // The same code is never accepted twice.
    let again = auth
        .sign_in(store, "head@auth.test", "correct horse battery", ip(1), now)
        .await
        .unwrap();
    assert_eq!(again.next, NextStep::Totp);
    assert!(matches!(
        sf(again.token.clone(), code.clone()).await,
        TwoFactor::Wrong
    ));
    // A recovery code works once.
    let rc = enrol.recovery_codes[3].expose().clone();
    let TwoFactor::Passed(again_token) = sf(again.token.clone(), rc.clone()).await else {
        panic!("a recovery code passes")
    };
    let third = auth
        .sign_in(store, "head@auth.test", "correct horse battery", ip(1), now)
        .await
        .unwrap();
    assert!(matches!(
        sf(third.token.clone(), rc.clone()).await,
        TwoFactor::Wrong
    ));
    // Two-factor cannot be set up again once it is on.
    let s = auth
        .session(store, &again_token, now)
        .await
        .unwrap()
        .unwrap();
    assert!(auth
        .begin_enrolment(store, &s.staff, "head@auth.test", "Raabta", now)
        .await
        .is_err());
    // Wrong codes count like wrong passwords: the account locks and the session ends.
    let mut locked = false;
    for _ in 0..5 {
        if let TwoFactor::Locked = sf(third.token.clone(), "000000".into()).await {
            locked = true;
            break;
        }
    }
    assert!(locked);
    assert!(auth
        .session(store, &third.token, now)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        auth.sign_in(store, "head@auth.test", "correct horse battery", ip(1), now)
            .await,
        Err(AuthError::Locked)
    ));
    let again = again_token.clone();

    // CSRF tokens belong to the session.
    let s = auth.session(store, &again, now).await.unwrap().unwrap();
    assert!(s.csrf_ok(&s.csrf_token.expose().clone()));
    assert!(!s.csrf_ok(""));
    assert!(!s.csrf_ok(&"0".repeat(64)));

    // Idle timeout: 31 minutes without a request ends the session (and deletes it).
    assert!(auth
        .session(store, &t.token, now + Duration::minutes(31))
        .await
        .unwrap()
        .is_none());
    assert!(auth.session(store, &t.token, now).await.unwrap().is_none());
    // Absolute timeout: even an active session ends after 12 hours.
    let mut at = now;
    for _ in 0..35 {
        at += Duration::minutes(20);
        assert!(auth.session(store, &again, at).await.unwrap().is_some());
    }
    assert!(auth
        .session(store, &again, now + Duration::hours(12))
        .await
        .unwrap()
        .is_none());
    // Sign out everywhere ends every other session of the account.
    assert!(auth.sign_out_everywhere(store, admin, now).await.unwrap() >= 1);
    assert!(auth.session(store, &fresh, now).await.unwrap().is_none());
    // A made-up cookie is nobody.
    assert!(auth
        .session(store, &SessionToken::from_cookie("forged"), now)
        .await
        .unwrap()
        .is_none());
}
crate::on_both_backends!(sign_in_two_factor_and_sessions);

async fn lockouts_hold(env: &TestEnv) {
    let school = env.school("lockout").await;
    let store = school.store.as_ref();
    staff(
        env,
        &school,
        "office@lock.test",
        StaffRole::Teacher,
        "right password 9",
    )
    .await;
    let auth = Auth::new();
    let now = Utc::now();
    for i in 0..4 {
        assert!(
            matches!(
                auth.sign_in(store, "office@lock.test", "wrong", ip(2), now)
                    .await,
                Err(AuthError::Invalid)
            ),
            "attempt {i}"
        );
    }
    assert!(matches!(
        auth.sign_in(store, "office@lock.test", "wrong", ip(3), now)
            .await,
        Err(AuthError::Locked)
    ));
    // Locked stays locked, even with the right password, from any address.
    assert!(matches!(
        auth.sign_in(
            store,
            "office@lock.test",
            "right password 9",
            ip(4),
            now + Duration::minutes(5)
        )
        .await,
        Err(AuthError::Locked)
    ));
    // After the window it opens again.
    assert!(auth
        .sign_in(
            store,
            "office@lock.test",
            "right password 9",
            ip(4),
            now + Duration::minutes(16)
        )
        .await
        .is_ok());
    // One address trying many accounts is slowed down too.
    let mut limited = false;
    for i in 0..25 {
        if let Err(AuthError::TooManyFromAddress) = auth
            .sign_in(store, &format!("x{i}@lock.test"), "pw", ip(9), now)
            .await
        {
            limited = true;
            break;
        }
    }
    assert!(limited);
}
crate::on_both_backends!(lockouts_hold);
