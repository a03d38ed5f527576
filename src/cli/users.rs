//! `raabta users …`: staff accounts for the web admin.

use anyhow::bail;
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;
use raabta::domain::activity::ActivityEntry;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum UsersCmd {
    /// Create a staff account. The password comes from RAABTA_NEW_PASSWORD (at least 12
    /// characters), or a random one is printed once.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, branch_manager or teacher.
        #[arg(long)]
        role: String,
        /// The branch (by name) of a branch manager or teacher.
        #[arg(long)]
        branch: Option<String>,
        /// Classes a teacher teaches, comma separated ("Grade 5 A,Grade 3").
        #[arg(long)]
        classes: Option<String>,
        #[arg(long, env = "RAABTA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Print a single-use link (valid 30 minutes) with which a staff member sets a new
    /// password; older unused links stop working. For services without SMTP.
    ResetLink {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
}

pub(super) async fn users_cmd(config: Config, cmd: UsersCmd) -> anyhow::Result<()> {
    use raabta::domain::roster::{StaffRole, StaffUser};
    let (tenant, email, name, role, branch, classes, password) = match cmd {
        UsersCmd::Add {
            tenant,
            email,
            name,
            role,
            branch,
            classes,
            password,
        } => (tenant, email, name, role, branch, classes, password),
        UsersCmd::ResetLink { tenant, email } => {
            let app = App::build(config).await?;
            let school = app.tenancy.school(&tenant).await?;
            let Some(staff) = school.store.staff_by_email(&email).await? else {
                bail!("{tenant} has no staff account {email}");
            };
            if !staff.active {
                bail!("{email} is deactivated; activate the account first");
            }
            let entry = ActivityEntry::now(
                "cli",
                "staff.password_link",
                Some(format!("staff:{}", staff.id.0)),
                "cli",
                json!({ "emailed": false }),
            );
            let link = raabta::admin::reset::create_link(&app, &school, staff.id, &entry).await?;
            println!(
                "{}\n(single use, valid {} minutes; give it to {email} only)",
                link.expose(),
                raabta::admin::reset::LINK_MINUTES
            );
            return Ok(());
        }
    };
    let app = App::build(config).await?;
    let school = app.tenancy.school(&tenant).await?;
    let role: StaffRole = role
        .parse()
        .map_err(|_| anyhow::anyhow!("--role must be admin, branch_manager or teacher"))?;
    let email = email.trim().to_string();
    if !email.contains('@') || email.len() > 200 || email.contains(char::is_whitespace) {
        bail!("--email is not an email address");
    }
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        bail!("--name must have 1 to 200 characters");
    }
    let (password, generated) = match password {
        Some(p) if p.chars().count() >= 12 => (p, false),
        Some(_) => bail!("the password must have at least 12 characters"),
        None => (
            raabta::domain::access_code::AccessCode::generate()
                .expose()
                .to_string()
                + raabta::domain::access_code::AccessCode::generate().expose(),
            true,
        ),
    };
    let wanted: Vec<String> = classes
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let known = school.store.classes().await?;
    let mut class_ids = Vec::new();
    for w in &wanted {
        let found: Vec<_> = known
            .iter()
            .filter(|c| c.label().eq_ignore_ascii_case(w) || c.name.eq_ignore_ascii_case(w))
            .collect();
        if found.is_empty() {
            let all: Vec<String> = known.iter().map(|c| c.label()).collect();
            bail!("no class {w:?}; classes are: {}", all.join(", "));
        }
        class_ids.extend(found.into_iter().map(|c| c.id));
    }
    let staff = StaffUser {
        id: raabta::domain::StaffId::new(),
        full_name: name,
        email: email.clone(),
        phone: None,
        role,
        branch,
        password_hash: Some(raabta::password::hash(password.clone()).await?),
    };
    let act = |action: &str| {
        ActivityEntry::now(
            "cli",
            action,
            Some(format!("staff:{}", staff.id.0)),
            "cli",
            json!({ "role": staff.role.as_str() }),
        )
    };
    if school.store.staff_by_email(&email).await?.is_some() {
        bail!("{email} already has an account in {tenant}");
    }
    school
        .store
        .create_staff(&staff, &act("staff.create"))
        .await?;
    for c in class_ids {
        school
            .store
            .assign_class(staff.id, c, &act("staff.assign_class"))
            .await?;
    }
    println!(
        "{email} can sign in at {}/admin (school \"{tenant}\")",
        app.config.public_url
    );
    if generated {
        println!("password (shown once): {password}");
    }
    if role == StaffRole::Admin {
        println!("administrators set up two-factor at their first sign-in");
    }
    Ok(())
}
