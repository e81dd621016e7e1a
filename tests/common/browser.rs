//! A minimal browser for tests: a cookie jar, no automatic redirects, and a parser for the
//! hosted pages' forms, so tests post them exactly as a browser with JavaScript off would.
#![allow(dead_code)]

use reqwest::Response;

pub struct Browser {
    pub http: reqwest::Client,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Every `<form method="post">` of the page, with its hidden and pre-filled inputs, resolved
/// against `page_url`.
pub fn forms(html: &str, page_url: &str) -> Vec<Form> {
    let base = url::Url::parse(page_url).unwrap();
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let Some(end) = chunk.find("</form>") else {
            continue;
        };
        let body = &chunk[..end];
        let open_end = body.find('>').unwrap_or(0);
        let open = &body[..open_end];
        let action = attr(open, "action").unwrap_or_default();
        let action = base.join(&action).unwrap().to_string();
        let mut fields = Vec::new();
        for input in body.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            let (Some(name), value) = (attr(tag, "name"), attr(tag, "value")) else {
                continue;
            };
            let ty = attr(tag, "type").unwrap_or_else(|| "text".into());
            // As a browser: an unticked box or an unchosen radio button sends nothing.
            if (ty == "checkbox" || ty == "radio") && !tag.contains("checked") {
                continue;
            }
            fields.push((name, value.unwrap_or_default()));
        }
        out.push(Form { action, fields });
    }
    out
}

pub fn form(html: &str, page_url: &str) -> Form {
    forms(html, page_url)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no form in page:\n{html}"))
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {} {}", res.status(), res.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The query parameters of a URL as pairs.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A browser whose every request carries `name: value` (e.g. a proxy's X-Forwarded-For).
    pub fn with_header(name: &'static str, value: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn submit(&self, form: &Form) -> Response {
        self.http
            .post(&form.action)
            .form(&form.fields)
            .send()
            .await
            .unwrap()
    }

    /// Follows redirects that stay on `base` (the IdP); returns the first response that is not
    /// such a redirect (a page, or a redirect to the application).
    pub async fn follow(&self, base: &str, mut res: Response) -> Response {
        for _ in 0..10 {
            if !res.status().is_redirection() {
                return res;
            }
            let loc = location(&res);
            let next = url::Url::parse(res.url().as_str())
                .unwrap()
                .join(&loc)
                .unwrap();
            if !next.as_str().starts_with(base) {
                return res;
            }
            res = self.get(next.as_str()).await;
        }
        panic!("redirect loop");
    }
}
