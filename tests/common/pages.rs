//! Reading the hosted pages in tests: a response as (URL, HTML), its forms and links, and
//! opening a page of the `acme` tenant the way a browser follows its redirects.
#![allow(dead_code)]

use reqwest::Response;

use super::TestServer;
use super::browser::{self, Browser, Form};
use super::flow::{ALICE, PW};

pub async fn page(res: Response) -> (String, String) {
    let url = res.url().to_string();
    (url, res.text().await.unwrap())
}

/// The n-th form of the page.
pub fn nth_form(html: &str, url: &str, n: usize) -> Form {
    browser::forms(html, url).remove(n)
}

/// The first form of the page that carries `field`.
pub fn form_with(html: &str, url: &str, field: &str) -> Form {
    browser::forms(html, url)
        .into_iter()
        .find(|f| f.get(field).is_some())
        .unwrap_or_else(|| panic!("a form with `{field}` in {html}"))
}

/// The href of the page's link that contains `needle`.
pub fn link(html: &str, needle: &str) -> String {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {html}"));
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

/// Opens `path` under the `acme` issuer, following the IdP's redirects; asserts a 200.
pub async fn open(b: &Browser, srv: &TestServer, path: &str) -> (String, String) {
    let res = b
        .follow(
            &srv.base,
            b.get(&format!("{}{path}", srv.issuer("acme"))).await,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.url());
    page(res).await
}

/// Follows the page's link whose href contains `needle` (a link relative to the issuer).
pub async fn follow_link(
    b: &Browser,
    srv: &TestServer,
    html: &str,
    needle: &str,
) -> (String, String) {
    open(b, srv, &format!("/{}", link(html, needle))).await
}

/// Opens the account pages in `b`, signing in through the hosted login when asked.
pub async fn open_account(b: &Browser, srv: &TestServer, suffix: &str) -> (String, String) {
    let url = format!("{}/account{suffix}", srv.issuer("acme"));
    let res = b.follow(&srv.base, b.get(&url).await).await;
    let res = if res.url().path().ends_with("/login") {
        let at = res.url().to_string();
        let html = res.text().await.unwrap();
        let mut f = browser::form(&html, &at);
        f.set("login", ALICE).set("password", PW);
        b.follow(&srv.base, b.submit(&f).await).await
    } else {
        res
    };
    assert_eq!(res.status(), 200, "account page at {}", res.url());
    let at = res.url().to_string();
    (at, res.text().await.unwrap())
}
