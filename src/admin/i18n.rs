//! The admin's own texts in English, Urdu and Arabic (Project Fluent files in
//! `src/admin/locales/`). The language comes from the `raabta_lang` cookie, read once
//! per request by middleware into a task-local, so templates call `t("id", n=…)`,
//! `lang()` and `dir()` without every handler passing the language along. A message
//! missing in Urdu or Arabic falls back to English (a unit test checks there are none).

use crate::domain::school::Locale;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

pub const COOKIE: &str = "raabta_lang";

tokio::task_local! {
    static CURRENT: Locale;
    /// The request's path and query (for the language switcher's way back).
    static HERE: String;
}

const SOURCES: [(Locale, &str); 3] = [
    (Locale::En, include_str!("locales/en.ftl")),
    (Locale::Ur, include_str!("locales/ur.ftl")),
    (Locale::Ar, include_str!("locales/ar.ftl")),
];

struct Bundles(Vec<(Locale, FluentBundle<FluentResource>)>);

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| {
        Bundles(
            SOURCES
                .iter()
                .map(|(locale, src)| {
                    let id: LanguageIdentifier = locale
                        .as_str()
                        .parse()
                        .unwrap_or_else(|_| LanguageIdentifier::default());
                    let mut bundle = FluentBundle::new_concurrent(vec![id]);
                    // Right-to-left texts isolate their placeables (dates, numbers, Latin
                    // names keep their own direction); English needs no marks.
                    bundle.set_use_isolating(locale.is_rtl());
                    match FluentResource::try_new(src.to_string()) {
                        Ok(res) => {
                            if let Err(errors) = bundle.add_resource(res) {
                                tracing::error!(
                                    locale = locale.as_str(),
                                    errors = errors.len(),
                                    "admin texts clash"
                                );
                            }
                        }
                        Err((res, errors)) => {
                            tracing::error!(
                                locale = locale.as_str(),
                                errors = errors.len(),
                                "admin texts do not parse"
                            );
                            let _ = bundle.add_resource(res);
                        }
                    }
                    (*locale, bundle)
                })
                .collect(),
        )
    })
}

fn format(locale: Locale, id: &str, args: Option<&FluentArgs>) -> Option<String> {
    let (_, bundle) = bundles().0.iter().find(|(l, _)| *l == locale)?;
    let msg = bundle.get_message(id)?;
    let pattern = msg.value()?;
    let mut errors = Vec::new();
    Some(
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned(),
    )
}

/// The text `id` in the request's language, else English, else the id itself.
pub fn text(id: &str, args: Option<&FluentArgs>) -> String {
    text_in(current(), id, args)
}

/// The text `id` in `locale`, else English, else the id itself.
pub fn text_in(locale: Locale, id: &str, args: Option<&FluentArgs>) -> String {
    format(locale, id, args)
        .or_else(|| format(Locale::En, id, args))
        .unwrap_or_else(|| id.to_string())
}

pub fn current() -> Locale {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// Runs a request's handling with its language.
pub async fn scope<F: std::future::Future>(locale: Locale, f: F) -> F::Output {
    CURRENT.scope(locale, f).await
}

/// Runs a request's handling with its language and path.
pub async fn scope_request<F: std::future::Future>(
    locale: Locale,
    here: String,
    f: F,
) -> F::Output {
    HERE.scope(here, CURRENT.scope(locale, f)).await
}

fn fluent_args(kwargs: &minijinja::value::Kwargs) -> Result<FluentArgs<'static>, minijinja::Error> {
    let mut args = FluentArgs::new();
    for key in kwargs.args() {
        let v: minijinja::Value = kwargs.get(key)?;
        let value = match v.as_i64() {
            Some(n) => FluentValue::from(n),
            None => FluentValue::from(v.to_string()),
        };
        args.set(key.to_string(), value);
    }
    Ok(args)
}

/// Registers `t`, `tl`, `lang`, `dir` and `here` with the templates.
pub fn register(env: &mut minijinja::Environment<'static>) {
    env.add_function(
        "t",
        |id: String, kwargs: minijinja::value::Kwargs| -> Result<String, minijinja::Error> {
            Ok(text(&id, Some(&fluent_args(&kwargs)?)))
        },
    );
    // The same in a given language (a printed slip in its guardian's language).
    env.add_function(
        "tl",
        |lang: String,
         id: String,
         kwargs: minijinja::value::Kwargs|
         -> Result<String, minijinja::Error> {
            let locale = lang.parse::<Locale>().unwrap_or_default();
            Ok(text_in(locale, &id, Some(&fluent_args(&kwargs)?)))
        },
    );
    env.add_function("lang", || current().as_str());
    // The request's path and query, URL-encoded for a `back=` parameter.
    env.add_function("here", || {
        let here = HERE
            .try_with(|h| h.clone())
            .unwrap_or_else(|_| "/admin".into());
        form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
    });
    env.add_function("dir", || if current().is_rtl() { "rtl" } else { "ltr" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(src: &str) -> Vec<String> {
        src.lines()
            .filter(|l| !l.starts_with('#') && l.contains(" = "))
            .map(|l| l.split(" = ").next().unwrap_or("").trim().to_string())
            .collect()
    }

    #[test]
    fn every_text_is_in_every_language() {
        let en = ids(SOURCES[0].1);
        assert!(en.len() > 50);
        for (locale, src) in &SOURCES[1..] {
            let theirs = ids(src);
            for id in &en {
                assert!(theirs.contains(id), "{id} missing in {}", locale.as_str());
                assert!(format(*locale, id, None).is_some(), "{id}");
            }
            assert_eq!(
                theirs.len(),
                en.len(),
                "{} has extra texts",
                locale.as_str()
            );
        }
    }

    #[tokio::test]
    async fn the_request_language_is_used_with_english_fallback() {
        let mut args = FluentArgs::new();
        args.set("n", 3);
        assert_eq!(
            text("dash-pending-leave", Some(&args)),
            "3 leave request(s) waiting for a decision"
        );
        let ur = scope(Locale::Ur, async { text("nav-attendance", None) }).await;
        assert_eq!(ur, "حاضری");
        let ar = scope(Locale::Ar, async {
            (text("leave-approve", None), current().is_rtl())
        })
        .await;
        assert_eq!(ar, ("موافقة".to_string(), true));
        assert_eq!(
            scope(Locale::Ur, async { text("no-such-id", None) }).await,
            "no-such-id"
        );
    }
}
