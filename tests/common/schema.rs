//! Checks a JSON value against a schema of an OpenAPI 3.1 document: the subset utoipa writes
//! (`$ref`, `type` as a name or a list, `properties`/`required`, `items`, `allOf`, `oneOf`,
//! `anyOf`, `enum`). Strict about undocumented fields: a property the answer has and the
//! schema does not name is an error, so the document cannot fall behind the responses.
#![allow(dead_code)]

use serde_json::Value;

/// Every mismatch of `value` against `schema`, each with its JSON path (empty: it conforms).
pub fn check(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(doc, schema, value, "$", &mut errors);
    errors
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// The property names a schema (with its `allOf` parts) documents, or None when it says
/// nothing about them (a free-form object).
fn documented(doc: &Value, schema: &Value) -> Option<Vec<String>> {
    let schema = resolve(doc, schema);
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut any = schema["properties"].is_object();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        if let Some(more) = documented(doc, part) {
            names.extend(more);
            any = true;
        }
    }
    any.then_some(names)
}

fn walk(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            walk_part(doc, part, v, at, errors);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|o| check(doc, o, v).is_empty());
            if !fits {
                errors.push(format!("{at}: fits none of {key}"));
            }
        }
    }
    walk_part(doc, schema, v, at, errors);
    if v.is_object()
        && let Some(names) = documented(doc, schema)
    {
        for k in v.as_object().unwrap().keys() {
            if !names.contains(k) {
                errors.push(format!("{at}.{k}: not in the document"));
            }
        }
    }
}

/// The checks of one schema object, without `allOf`'s undocumented-field rule.
fn walk_part(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
        errors.push(format!("{at}: {v} is not {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        errors.push(format!("{at}: {v} is not one of {allowed:?}"));
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), v.as_object()) {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                errors.push(format!("{at}.{name}: required, missing"));
            }
        }
        for (k, sub) in props {
            if let Some(field) = obj.get(k) {
                walk(doc, sub, field, &format!("{at}.{k}"), errors);
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            walk(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}
