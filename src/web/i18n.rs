//! Message catalogue: gettext-style, the English text is the key. `themes/default/locales/
//! {lang}.json` maps it to a translation; a missing entry shows the English text. Templates call
//! `t("...")` (with `{name}` placeholders filled from keyword arguments); the language of a
//! request is chosen by `ui_locales` (remembered in a cookie for the rest of the sign-in), then
//! `Accept-Language`, then English. Adding a locale is adding one JSON file.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::cookies;

pub const DEFAULT: &str = "en";
pub const COOKIE: &str = "gh_lang";

tokio::task_local! {
    /// The language negotiated for the request being handled.
    static LANG: String;
}

/// The language of the current request (English outside a request).
pub fn current() -> String {
    LANG.try_with(|l| l.clone())
        .unwrap_or_else(|_| DEFAULT.to_owned())
}

#[derive(Default)]
pub struct Catalog {
    langs: HashMap<String, HashMap<String, String>>,
}

impl Catalog {
    pub fn load(themes_dir: &Path) -> Catalog {
        let mut langs = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(themes_dir.join("default/locales")) {
            for e in entries.flatten() {
                let path = e.path();
                let Some(lang) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned)
                else {
                    continue;
                };
                match std::fs::read(&path)
                    .map(|b| serde_json::from_slice::<HashMap<String, String>>(&b))
                {
                    Ok(Ok(map)) => {
                        langs.insert(lang, map);
                    }
                    _ => tracing::warn!(file = %path.display(), "message catalogue not loaded"),
                }
            }
        }
        langs.entry(DEFAULT.to_owned()).or_default();
        Catalog { langs }
    }

    pub fn languages(&self) -> Vec<&str> {
        let mut l: Vec<&str> = self.langs.keys().map(String::as_str).collect();
        l.sort();
        l
    }

    pub fn translate<'a>(&'a self, lang: &str, text: &'a str) -> &'a str {
        self.langs
            .get(lang)
            .and_then(|m| m.get(text))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(text)
    }

    /// The first supported language of a preference list (`ui_locales` is space-separated,
    /// `Accept-Language` comma-separated with q-values in order of preference in practice).
    pub fn pick(&self, prefs: &str) -> Option<String> {
        prefs
            .split([' ', ','])
            .map(|p| {
                p.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|p| !p.is_empty())
            .find_map(|p| {
                let primary = p.split('-').next().unwrap_or("").to_owned();
                self.langs.contains_key(&primary).then_some(primary)
            })
    }

    pub fn negotiate(&self, ui_locales: Option<&str>, headers: &HeaderMap) -> String {
        ui_locales
            .and_then(|u| self.pick(u))
            .or_else(|| cookies::get(headers, COOKIE).and_then(|c| self.pick(&c)))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|a| self.pick(a))
            })
            .unwrap_or_else(|| DEFAULT.to_owned())
    }
}

/// Chooses the language for each request and, when the request named `ui_locales`, remembers
/// it in a session cookie so every page of that sign-in speaks it.
pub async fn negotiate(
    axum::extract::State(catalog): axum::extract::State<std::sync::Arc<Catalog>>,
    req: Request,
    next: Next,
) -> Response {
    let ui_locales = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "ui_locales")
            .map(|(_, v)| v.into_owned())
    });
    let lang = catalog.negotiate(ui_locales.as_deref(), req.headers());
    let remember = ui_locales.is_some_and(|u| catalog.pick(&u).is_some());
    let mut res = LANG.scope(lang.clone(), next.run(req)).await;
    if remember {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(COOKIE, &lang, "/", None, false),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.langs.insert("en".into(), HashMap::new());
        c.langs.insert(
            "fr".into(),
            [("Sign in".to_string(), "Se connecter".to_string())].into(),
        );
        c
    }

    #[test]
    fn negotiation_order() {
        let c = catalog();
        let mut h = HeaderMap::new();
        assert_eq!(c.negotiate(None, &h), "en");
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-CH, fr;q=0.9, en;q=0.8".parse().unwrap(),
        );
        assert_eq!(c.negotiate(None, &h), "fr");
        assert_eq!(c.negotiate(Some("en"), &h), "en", "ui_locales wins");
        assert_eq!(c.negotiate(Some("de fr"), &HeaderMap::new()), "fr");
        assert_eq!(c.translate("fr", "Sign in"), "Se connecter");
        assert_eq!(c.translate("fr", "Unknown"), "Unknown");
    }
}
