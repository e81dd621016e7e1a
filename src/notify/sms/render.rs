//! The words of a text message: `themes/{theme}/sms/{kind}.txt` (falling back to the default
//! theme, like pages and mail), localized through `t()` in the request's language like every
//! other template. The code comes first so it shows in a lock-screen preview, and the last line
//! is always the origin-bound one-time code line `@{host} #{code}` (WICG "Origin-bound one-time
//! codes delivered via SMS"), which browsers read to offer the code for autofill (WebOTP). That
//! line is added here, not in the template, so no theme can break autofill.

use serde::Serialize;

use super::{SmsError, SmsKind};
use crate::web::templates::Templates;

/// Every template a kind renders; checked at start-up.
pub const TEMPLATE_FILES: [&str; 2] = ["sign_in_code.txt", "setup_code.txt"];

#[derive(Serialize)]
struct SmsView<'a> {
    kind: &'static str,
    tenant_name: &'a str,
    code: &'a str,
    minutes: u32,
    host: &'a str,
}

/// The message body for `kind`: the template's text (lines trimmed, blank lines dropped), a
/// blank line, then `@{host} #{code}`.
pub fn render(
    templates: &Templates,
    theme: &str,
    tenant_name: &str,
    host: &str,
    kind: &SmsKind,
) -> Result<String, SmsError> {
    let view = SmsView {
        kind: kind.name(),
        tenant_name,
        code: kind.code(),
        minutes: kind.minutes(),
        host,
    };
    let template = format!("sms/{}.txt", kind.name());
    let text = templates
        .render(theme, &template, view)
        .map_err(|e| SmsError::Config(format!("SMS template {template}: {e}")))?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Ok(format!("{}\n\n@{host} #{}", lines.join("\n"), kind.code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn templates() -> Templates {
        Templates::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("themes"))
    }

    #[test]
    fn code_first_and_the_webotp_line_last() {
        for kind in [
            SmsKind::SignInCode {
                code: "042917".into(),
                minutes: 10,
            },
            SmsKind::SetupCode {
                code: "042917".into(),
                minutes: 10,
            },
        ] {
            let body = render(&templates(), "default", "Acme", "id.example.com", &kind).unwrap();
            assert!(body.starts_with("042917 "), "{body}");
            assert!(body.ends_with("\n\n@id.example.com #042917"), "{body}");
            assert!(body.contains("Acme"), "{body}");
            assert!(body.contains("10"), "{body}");
            // One SMS segment (GSM-7, 160 characters) for a usual tenant name and host.
            assert!(
                body.chars().count() <= 160,
                "{} chars: {body}",
                body.chars().count()
            );
        }
    }

    /// Every sentence of the SMS templates has a French entry (the catalogue falls back to
    /// English silently, so a missing one would go unnoticed).
    #[test]
    fn every_sms_sentence_is_translated() {
        let themes = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        let catalog = crate::web::i18n::Catalog::load(&themes);
        for name in TEMPLATE_FILES {
            let text = std::fs::read_to_string(themes.join("default/sms").join(name)).unwrap();
            let sentences: Vec<&str> = text
                .split("t(\"")
                .skip(1)
                .filter_map(|rest| rest.split_once('"').map(|(s, _)| s))
                .collect();
            assert!(!sentences.is_empty(), "{name}");
            for sentence in sentences {
                let fr = catalog.translate("fr", sentence);
                assert_ne!(fr, sentence, "{name}: no French for {sentence:?}");
                for placeholder in ["{code}", "{tenant}", "{minutes}"] {
                    assert_eq!(
                        sentence.contains(placeholder),
                        fr.contains(placeholder),
                        "{fr}"
                    );
                }
            }
        }
    }
}
