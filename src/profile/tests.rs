use super::*;

fn one_field(set: impl FnOnce(&mut ProfileEdit)) -> Result<ProfileEdit, Vec<FieldError>> {
    let mut e = ProfileEdit::default();
    set(&mut e);
    validate(e)
}

fn refused(set: impl FnOnce(&mut ProfileEdit)) -> Vec<String> {
    one_field(set)
        .expect_err("refused")
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn good_values_pass_and_are_normalised() {
    let e = validate(ProfileEdit {
        name: Some("  Alice Liddell ".into()),
        username: Some("alice".into()),
        given_name: Some("Alice".into()),
        family_name: Some("Liddell".into()),
        profile: Some("https://example.com/alice".into()),
        picture: Some("http://cdn.example.com/a.png".into()),
        birthdate: Some("1852-05-04".into()),
        zoneinfo: Some("Europe/London".into()),
        locale: Some("en_GB".into()),
        address: Some(r#"{"locality":" Oxford ","country":"UK","region":""}"#.into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(e.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(e.locale.as_deref(), Some("en-GB"));
    assert_eq!(
        e.address.as_deref(),
        Some(r#"{"locality":"Oxford","country":"UK"}"#)
    );
    // Left-out fields stay left out; an empty value stays the "remove" it asks for.
    assert_eq!(e.nickname, None);
    let cleared = one_field(|e| e.website = Some("  ".into())).unwrap();
    assert_eq!(cleared.website.as_deref(), Some(""));
    let no_address = one_field(|e| e.address = Some(r#"{"country":" "}"#.into())).unwrap();
    assert_eq!(no_address.address.as_deref(), Some(""));
}

#[test]
fn urls_must_be_http_or_https() {
    for bad in [
        "javascript:alert(1)",
        "ftp://example.com/x",
        "example.com",
        "https://",
    ] {
        assert_eq!(
            refused(|e| e.picture = Some(bad.into())),
            ["picture"],
            "{bad}"
        );
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    assert_eq!(refused(|e| e.website = Some(long)), ["website"]);
}

#[test]
fn birthdates_are_a_year_or_a_real_date() {
    for good in ["1990", "1990-02-28", "2000-02-29", "0000-02-29", "0000"] {
        assert!(
            one_field(|e| e.birthdate = Some(good.into())).is_ok(),
            "{good}"
        );
    }
    for bad in [
        "1990-2-28",
        "1990-02-30",
        "1990-13-01",
        "1999-02-29",
        "90",
        "1990-02",
        "1990/02/28",
        "１９９０",
    ] {
        assert_eq!(
            refused(|e| e.birthdate = Some(bad.into())),
            ["birthdate"],
            "{bad}"
        );
    }
}

#[test]
fn locales_are_language_tags() {
    for good in ["en", "fr-CA", "zh-Hant-TW", "es-419", "de_DE"] {
        assert!(
            one_field(|e| e.locale = Some(good.into())).is_ok(),
            "{good}"
        );
    }
    for bad in [
        "e",
        "english-",
        "en-US-toolongsubtag",
        "12-US",
        "en US",
        "fr--CA",
    ] {
        assert_eq!(
            refused(|e| e.locale = Some(bad.into())),
            ["locale"],
            "{bad}"
        );
    }
}

#[test]
fn zoneinfo_is_a_short_zone_name() {
    for good in ["UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+5"] {
        assert!(
            one_field(|e| e.zoneinfo = Some(good.into())).is_ok(),
            "{good}"
        );
    }
    for bad in ["Europe Paris", "Europe/Paris;", &"A".repeat(65)] {
        assert_eq!(
            refused(|e| e.zoneinfo = Some(bad.to_string())),
            ["zoneinfo"],
            "{bad}"
        );
    }
}

#[test]
fn text_is_bounded_and_printable() {
    assert_eq!(
        refused(|e| e.given_name = Some("a".repeat(257))),
        ["given_name"]
    );
    assert!(one_field(|e| e.given_name = Some("é".repeat(256))).is_ok());
    assert_eq!(
        refused(|e| e.nickname = Some("a\u{7}b".into())),
        ["nickname"]
    );
    assert_eq!(refused(|e| e.name = Some("line\nbreak".into())), ["name"]);
    assert_eq!(refused(|e| e.gender = Some("x".repeat(65))), ["gender"]);
    for bad in ["a@b", "two words", &"u".repeat(65)] {
        assert_eq!(
            refused(|e| e.username = Some(bad.to_string())),
            ["username"],
            "{bad}"
        );
    }
}

#[test]
fn addresses_are_objects_of_known_string_members() {
    for bad in [
        "not json",
        "[]",
        r#"{"postcode":"OX1"}"#,
        r#"{"country":1}"#,
    ] {
        assert_eq!(
            refused(|e| e.address = Some(bad.into())),
            ["address"],
            "{bad}"
        );
    }
    // Street addresses may have several lines; a locality may not.
    let lines = r#"{"street_address":"1 Main St\nApt 2","formatted":"1 Main St\nApt 2\nOxford"}"#;
    assert!(one_field(|e| e.address = Some(lines.into())).is_ok());
    let bad = format!(
        r#"{{"locality":"a\nb","postal_code":"{}"}}"#,
        "9".repeat(33)
    );
    assert_eq!(
        refused(|e| e.address = Some(bad)),
        ["address.locality", "address.postal_code"]
    );
}

#[test]
fn every_refusal_is_reported_in_one_line() {
    let errors = validate(ProfileEdit {
        picture: Some("nope".into()),
        locale: Some("!".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        one_line(&errors),
        "picture: an http:// or https:// URL; locale: a language tag such as en or fr-CA"
    );
}

#[test]
fn the_stored_address_reads_back_as_an_object() {
    let p = Profile {
        address: Some(r#"{"country":"FR"}"#.into()),
        ..Default::default()
    };
    assert_eq!(p.address().unwrap().country.as_deref(), Some("FR"));
    assert_eq!(
        serde_json::to_value(&p).unwrap()["address"],
        serde_json::json!({ "country": "FR" })
    );
    assert_eq!(p.get("address"), Some(r#"{"country":"FR"}"#));
}
