//! Checks real answers against the OpenAPI document: the status is documented for
//! the operation, the content type is one the document names for it, and a JSON body
//! validates against the documented schema.
//!
//! The validator covers the JSON Schema keywords the document uses (`$ref` into
//! `components`, `type` including `null`, `properties`, `required`,
//! `additionalProperties`, `propertyNames`, `items`, `oneOf`, `anyOf`, `allOf`, `enum`, `minimum`,
//! `maximum`); it fails on any other keyword it meets that constrains values, so a
//! schema it cannot judge is never passed silently. schemathesis (`.ci/schemathesis`)
//! checks the running quickstart with a complete validator.

use std::sync::LazyLock;

use http::Method;
use serde_json::Value;

use super::Answer;

/// The document of every route of the crate.
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let doc = token_tower::routes::openapi::document();
    serde_json::to_value(doc).unwrap()
});

/// The operation `method path` (a concrete path such as `/admin/keys/key_1`), if the
/// document has it.
pub fn operation<'a>(doc: &'a Value, method: &Method, path: &str) -> Option<&'a Value> {
    let path = path.split('?').next().unwrap_or(path);
    let method = method.as_str().to_ascii_lowercase();
    doc["paths"]
        .as_object()?
        .iter()
        .find(|(template, _)| template_matches(template, path))
        .and_then(|(_, item)| item.get(&method))
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<_> = template.split('/').collect();
    let p: Vec<_> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// Whether `answer` to `method path` is what the document promises. `Ok(false)`: the
/// document has no such operation (a route of the test's own).
pub fn conforms(method: &Method, path: &str, answer: &Answer) -> Result<bool, String> {
    conforms_to(&DOCUMENT, method, path, answer)
}

/// [`conforms`] against another document.
pub fn conforms_to(
    doc: &Value,
    method: &Method,
    path: &str,
    answer: &Answer,
) -> Result<bool, String> {
    let Some(op) = operation(doc, method, path) else {
        return Ok(false);
    };
    let what = format!("{method} {path} answered {}", answer.status.as_u16());
    let responses = &op["responses"];
    let status = answer.status.as_u16().to_string();
    let range = format!("{}XX", &status[..1]);
    let response = [status.as_str(), range.as_str(), "default"]
        .iter()
        .find_map(|k| responses.get(*k))
        .ok_or_else(|| format!("{what}: status not documented ({})", answer.body))?;
    let content = response.get("content").and_then(Value::as_object);
    if answer.body.is_empty() {
        return Ok(true);
    }
    let content_type = answer
        .header("content-type")
        .ok_or_else(|| format!("{what}: a body without a content type"))?;
    let media = content_type.split(';').next().unwrap_or("").trim();
    let entry = content
        .and_then(|c| c.get(media))
        .ok_or_else(|| format!("{what}: content type {media} not documented"))?;
    if media.ends_with("json") {
        let body: Value = serde_json::from_str(&answer.body)
            .map_err(|e| format!("{what}: {media} body is not JSON: {e}"))?;
        if let Some(schema) = entry.get("schema") {
            let mut errors = Vec::new();
            validate(doc, schema, &body, "$", &mut errors);
            if !errors.is_empty() {
                return Err(format!("{what}: {}\nbody: {body}", errors.join("; ")));
            }
        }
    }
    Ok(true)
}

/// Panics unless [`conforms`].
pub fn assert_conforms(method: &Method, path: &str, answer: &Answer) {
    if let Err(e) = conforms(method, path, answer) {
        panic!("the answer does not match the OpenAPI document: {e}");
    }
}

/// Keywords that describe and never constrain (for this validator's purposes).
const ANNOTATIONS: [&str; 8] = [
    "description",
    "title",
    "example",
    "examples",
    "format",
    "default",
    "deprecated",
    "readOnly",
];

/// JSON Schema validation of `value` at `at`, for the keywords listed in the module
/// docs.
#[allow(clippy::too_many_lines)] // one match, one arm per keyword
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if schema == &Value::Bool(true) {
        return;
    }
    if schema == &Value::Bool(false) {
        errors.push(format!("{at}: no value is allowed"));
        return;
    }
    let Some(schema) = schema.as_object() else {
        errors.push(format!("{at}: the schema is not an object"));
        return;
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$ref" => {
                let name = rule.as_str().unwrap_or("");
                let Some(target) = name
                    .strip_prefix("#/components/schemas/")
                    .and_then(|n| doc["components"]["schemas"].get(n))
                else {
                    errors.push(format!("{at}: unresolved $ref {name}"));
                    continue;
                };
                validate(doc, target, value, at, errors);
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| has_type(value, t)) {
                    errors.push(format!("{at}: {value} is not of type {types:?}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|a| a.contains(value)) {
                    errors.push(format!("{at}: {value} is not one of {rule}"));
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for name in rule.as_array().into_iter().flatten() {
                        let name = name.as_str().unwrap_or("");
                        if !object.contains_key(name) {
                            errors.push(format!("{at}: `{name}` is required"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(object), Some(props)) = (value.as_object(), rule.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = object.get(name) {
                            validate(doc, sub, v, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(object) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in object {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        validate(doc, rule, v, &format!("{at}.{name}"), errors);
                    }
                }
            }
            "propertyNames" => {
                for name in value.as_object().into_iter().flat_map(|o| o.keys()) {
                    let key = Value::String(name.clone());
                    validate(doc, rule, &key, &format!("{at}.{name} (name)"), errors);
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        validate(doc, rule, v, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            "allOf" => {
                for sub in rule.as_array().into_iter().flatten() {
                    validate(doc, sub, value, at, errors);
                }
            }
            "oneOf" | "anyOf" => {
                let matching = rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|sub| {
                        let mut e = Vec::new();
                        validate(doc, sub, value, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                let ok = if keyword == "oneOf" {
                    matching == 1
                } else {
                    matching >= 1
                };
                if !ok {
                    errors.push(format!("{at}: {value} matches {matching} of {keyword}"));
                }
            }
            "minimum" => {
                if let (Some(v), Some(min)) = (value.as_f64(), rule.as_f64())
                    && v < min
                {
                    errors.push(format!("{at}: {v} < minimum {min}"));
                }
            }
            "maximum" => {
                if let (Some(v), Some(max)) = (value.as_f64(), rule.as_f64())
                    && v > max
                {
                    errors.push(format!("{at}: {v} > maximum {max}"));
                }
            }
            k if ANNOTATIONS.contains(&k) => {}
            other => errors.push(format!("{at}: the validator does not know `{other}`")),
        }
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}
