//! minijinja templates with theme fallback: `{theme}/{page}` is looked up in
//! `themes/{theme}/` first and then in `themes/default/`, so a theme overrides any template by
//! file name and inherits the rest. Relative names inside a template (`{% extends "base.html" %}`)
//! resolve within the same theme.

use std::path::{Component, Path, PathBuf};

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

pub struct Templates {
    env: Environment<'static>,
    pub catalog: std::sync::Arc<super::i18n::Catalog>,
}

pub const DEFAULT_THEME: &str = "default";

/// Only plain names: no absolute paths, no `..`, so a tenant's theme name cannot escape `themes/`.
fn safe_join(root: &Path, parts: &[&str]) -> Option<PathBuf> {
    let mut p = root.to_path_buf();
    for part in parts {
        let rel = Path::new(part);
        if part.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        p.push(rel);
    }
    Some(p)
}

impl Templates {
    pub fn new(themes_dir: &Path) -> Templates {
        let root = themes_dir.to_path_buf();
        let mut env = Environment::new();
        env.set_loader(move |name| {
            let Some((theme, page)) = name.split_once('/') else {
                return Ok(None);
            };
            for t in [theme, DEFAULT_THEME] {
                if let Some(path) = safe_join(&root, &[t, page])
                    && path.is_file()
                {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read template {}: {e}", path.display()),
                        )
                    });
                }
            }
            Ok(None)
        });
        // A plain name resolves in the including template's folder: `base.html` from
        // `dark/login.html` is `dark/base.html`, `base.txt` from `dark/mail/x.txt` is
        // `dark/mail/base.txt`. Names with a `/` are full `{theme}/{path}` names.
        env.set_path_join_callback(|name, parent| {
            if name.contains('/') {
                return name.to_owned().into();
            }
            let dir = parent.rsplit_once('/').map_or(DEFAULT_THEME, |(d, _)| d);
            format!("{dir}/{name}").into()
        });
        // `t("English text", name=value)`: the catalogue entry for the request's language, with
        // `{name}` placeholders filled in.
        let catalog = std::sync::Arc::new(super::i18n::Catalog::load(themes_dir));
        let cat = catalog.clone();
        env.add_function(
            "t",
            move |text: String,
                  kwargs: minijinja::value::Kwargs|
                  -> Result<String, minijinja::Error> {
                let lang = super::i18n::current();
                let mut out = cat.translate(&lang, &text).to_owned();
                for name in kwargs.args() {
                    let v: minijinja::Value = kwargs.get(name)?;
                    out = out.replace(&format!("{{{name}}}"), &v.to_string());
                }
                Ok(out)
            },
        );
        Templates { env, catalog }
    }

    pub fn render(
        &self,
        theme: &str,
        page: &str,
        ctx: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        self.env
            .get_template(&format!("{theme}/{page}"))?
            .render(minijinja::Value::from(minijinja::value::Serde(ctx)))
    }

    /// Renders a page as an HTML response; a template failure becomes a plain 500 and a log line.
    pub fn page(
        &self,
        status: StatusCode,
        theme: &str,
        page: &str,
        ctx: impl Serialize,
    ) -> Response {
        match self.render(theme, page, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, page, theme, "template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "server_error",
                )
                    .into_response()
            }
        }
    }
}

/// Serves `themes/{theme}/static/{file}` with fallback to the default theme and a long cache
/// lifetime (file names change when their content does).
pub fn static_asset(themes_dir: &Path, theme: &str, file: &str) -> Option<(&'static str, Vec<u8>)> {
    for t in [theme, DEFAULT_THEME] {
        let path = safe_join(themes_dir, &[t, "static", file])?;
        if let Ok(bytes) = std::fs::read(&path) {
            let mime = match path.extension().and_then(|e| e.to_str()) {
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("ico") => "image/x-icon",
                Some("woff2") => "font/woff2",
                _ => "application/octet-stream",
            };
            return Some((mime, bytes));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_overrides_by_name_and_inherits_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("default")).unwrap();
        std::fs::create_dir_all(d.join("dark")).unwrap();
        std::fs::write(
            d.join("default/base.html"),
            "[{% block body %}{% endblock %}]",
        )
        .unwrap();
        std::fs::write(
            d.join("default/page.html"),
            "{% extends \"base.html\" %}{% block body %}default {{ x }}{% endblock %}",
        )
        .unwrap();
        std::fs::write(
            d.join("dark/base.html"),
            "<dark>{% block body %}{% endblock %}",
        )
        .unwrap();
        let t = Templates::new(d);
        assert_eq!(
            t.render("default", "page.html", serde_json::json!({"x": 1}))
                .unwrap(),
            "[default 1]"
        );
        // dark has no page.html: the default page is used, but with dark's base.
        assert_eq!(
            t.render("dark", "page.html", serde_json::json!({"x": 2}))
                .unwrap(),
            "<dark>default 2"
        );
        // A theme name that tries to climb out falls back to the default theme.
        assert_eq!(t.render("..", "page.html", ()).unwrap(), "[default ]");
    }

    #[test]
    fn paths_cannot_escape_the_themes_folder() {
        assert!(safe_join(Path::new("/t"), &["..", "x"]).is_none());
        assert!(safe_join(Path::new("/t"), &["a", "/etc/passwd"]).is_none());
        assert!(safe_join(Path::new("/t"), &["a", "b.css"]).is_some());
    }
}
