//! The demo school created on a development server's first start, through the same
//! code paths as real imports (CSV parsing, encryption, access codes).

use crate::codes;
use crate::domain::access_code::AccessCode;
use crate::domain::activity::ActivityEntry;
use crate::domain::phone::Phone;
use crate::domain::roster::{ContactRef, StaffRole, StaffUser};
use crate::domain::school::NewTenant;
use crate::domain::StaffId;
use crate::import;
use crate::password;
use crate::store::tenancy::Tenancy;
use chrono::{DateTime, Utc};
use serde_json::json;

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.raabta.test";
const ROSTER: &str = include_str!("../demo/roster.csv");
const FEES: &str = include_str!("../demo/fees.csv");
const FAQ: &str = include_str!("../demo/faq.csv");
/// The service's own FAQ, for the vendor's school (`tenant create --vendor`).
const PLATFORM_FAQ: &str = include_str!("../demo/platform-faq.csv");

/// The rows of the service's own FAQ (checked by the import's rules).
pub fn platform_faq() -> Result<Vec<crate::faq::FaqRow>, SeedError> {
    crate::faq::parse_csv(PLATFORM_FAQ.as_bytes()).map_err(|e| {
        SeedError::Data(
            e.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
pub const DEMO_PARENT_PHONE: &str = "+923001110001";
pub const DEMO_TEACHER_PHONE: &str = "+923001110099";
/// The class the demo teacher teaches.
pub const DEMO_TEACHER_CLASS: &str = "Grade 5 A";

/// What a person needs to try the demo. Printed once and kept in `<data>/DEMO.txt`.
pub struct DemoLogin {
    pub admin_email: String,
    pub admin_password: String,
    pub parent_name: String,
    pub parent_phone: String,
    pub parent_code: AccessCode,
    pub code_expires: DateTime<Utc>,
    pub teacher_phone: String,
    pub teacher_code: AccessCode,
}

impl std::fmt::Debug for DemoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoLogin(<redacted>)")
    }
}

impl DemoLogin {
    pub fn render(&self, base_url: &str) -> String {
        format!(
            "Demo school \"{DEMO_SLUG}\" created.\n\
             \n  Web admin:      {base_url}/admin   (school \"{DEMO_SLUG}\"; the admin sets up two-factor at first sign-in)\n\
             \x20 Admin login:    {} / {}\n\
             \x20 Demo parent:    {} ({}), access code {} (valid until {})\n\
             \x20 Demo teacher:   {} (Grade 5 A), access code {}\n\
             \n  Try the bot in your terminal (the real pipeline, no phone needed):\n\
             \x20   cargo run --release -- chat --tenant {DEMO_SLUG} --from {}\n\
             \x20 then type the parent's access code, and \"menu\", \"fees\", \"chutti\", \"urdu\"…\n\
             \x20 As the teacher: --from {} and the teacher's code.\n",
            self.admin_email,
            self.admin_password,
            self.parent_name,
            self.parent_phone,
            self.parent_code.display(),
            self.code_expires.format("%Y-%m-%d"),
            self.teacher_phone,
            self.teacher_code.display(),
            self.parent_phone,
            self.teacher_phone,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("demo data: {0}")]
    Data(String),
    #[error(transparent)]
    Code(#[from] codes::CodeError),
    #[error(transparent)]
    Hash(#[from] password::HashError),
}

/// Creates the demo school if the deployment has no school yet.
pub async fn seed_if_empty(tenancy: &Tenancy) -> Result<Option<DemoLogin>, SeedError> {
    if !tenancy.list().await?.is_empty() {
        return Ok(None);
    }
    let new = NewTenant::new(DEMO_SLUG, "Raabta Demo School", "Asia/Karachi", "en")
        .map_err(|e| SeedError::Data(e.to_string()))?;
    let tenant = tenancy.create(new).await?;
    match fill(tenancy, tenant).await {
        Ok(login) => Ok(Some(login)),
        Err(e) => {
            // Leave no half-seeded school behind: the next start tries again.
            if let Err(p) = tenancy.purge(DEMO_SLUG, "seed").await {
                tracing::error!(error = %p, "removing the half-seeded demo school failed");
            }
            Err(e)
        }
    }
}

async fn fill(
    tenancy: &Tenancy,
    tenant: crate::domain::school::Tenant,
) -> Result<DemoLogin, SeedError> {
    let region = tenant.timezone.phone_region();
    let school = tenancy.open(tenant).await?;
    let store = school.store.as_ref();

    let roster = import::parse_roster(ROSTER.as_bytes(), region)
        .map_err(|e| SeedError::Data(e.to_string()))?;
    let act = |action: &str, n: usize| {
        ActivityEntry::now("system", action, None, "seed", json!({ "rows": n }))
    };
    let staff_act = |action: &str, staff: StaffId, details: serde_json::Value| {
        ActivityEntry::now(
            "system",
            action,
            Some(format!("staff:{staff}")),
            "seed",
            details,
        )
    };
    store
        .import_roster(&roster, &act("roster.import", roster.len()), &())
        .await?;
    let students = store.student_ids_by_admission().await?;
    let fees = import::parse_fees(FEES.as_bytes(), &students)
        .map_err(|e| SeedError::Data(e.to_string()))?;
    store
        .import_fees(&fees, &students, &act("fees.import", fees.len()), &())
        .await?;
    let faq = crate::faq::parse_csv(FAQ.as_bytes()).map_err(|e| {
        SeedError::Data(
            e.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    store
        .replace_faq(&faq, &act("faq.import", faq.len()))
        .await?;

    let admin_password =
        AccessCode::generate().expose().to_string() + &AccessCode::generate().expose()[..4];
    let admin = StaffUser {
        id: StaffId::new(),
        full_name: "Demo Admin".into(),
        email: DEMO_ADMIN_EMAIL.into(),
        phone: None,
        role: StaffRole::Admin,
        branch: None,
        password_hash: Some(password::hash(admin_password.clone()).await?),
    };
    let created = staff_act("staff.create", admin.id, json!({"role": "admin"}));
    store.create_staff(&admin, &created).await?;

    let phone =
        Phone::parse(DEMO_PARENT_PHONE, None).map_err(|e| SeedError::Data(e.to_string()))?;
    let parent = store
        .contacts_by_phone(&phone)
        .await?
        .into_iter()
        .find(|c| matches!(c, ContactRef::Guardian(_)))
        .ok_or_else(|| SeedError::Data("demo parent missing".into()))?;
    let parent_name = match parent {
        ContactRef::Guardian(g) => store
            .guardian(g)
            .await?
            .map(|g| g.full_name)
            .unwrap_or_default(),
        ContactRef::Staff(_) => String::new(),
    };
    let (code, expires) = codes::issue(
        None,
        store,
        parent,
        chrono::Duration::days(30),
        "system",
        "seed",
    )
    .await?;

    let teacher_phone =
        Phone::parse(DEMO_TEACHER_PHONE, None).map_err(|e| SeedError::Data(e.to_string()))?;
    let teacher = StaffUser {
        id: StaffId::new(),
        full_name: "Demo Teacher".into(),
        email: "teacher@demo.raabta.test".into(),
        phone: Some(teacher_phone.clone()),
        role: StaffRole::Teacher,
        branch: None,
        password_hash: None,
    };
    let created = staff_act("staff.create", teacher.id, json!({"role": "teacher"}));
    store.create_staff(&teacher, &created).await?;
    let class = store
        .classes()
        .await?
        .into_iter()
        .find(|c| c.label() == DEMO_TEACHER_CLASS)
        .ok_or_else(|| SeedError::Data("demo class missing".into()))?;
    let assigned = staff_act(
        "staff.assign_class",
        teacher.id,
        json!({ "class": class.id.0 }),
    );
    store.assign_class(teacher.id, class.id, &assigned).await?;
    let (teacher_code, _) = codes::issue(
        None,
        store,
        ContactRef::Staff(teacher.id),
        chrono::Duration::days(30),
        "system",
        "seed",
    )
    .await?;
    Ok(DemoLogin {
        teacher_phone: teacher_phone.e164().to_string(),
        teacher_code,
        admin_email: DEMO_ADMIN_EMAIL.into(),
        admin_password,
        parent_name,
        parent_phone: phone.e164().to_string(),
        parent_code: code,
        code_expires: expires,
    })
}
