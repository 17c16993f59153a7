//! The OpenAPI document (feature `openapi`): valid OpenAPI 3.1, every route the
//! routers mount with every method, and real answers (also the layer's refusals)
//! matching it. `tests/routes.rs` checks each of its answers against it too.

#![cfg(feature = "openapi")]

mod common;

use std::collections::BTreeSet;

use axum::Router;
use common::openapi::{DOCUMENT, conforms_to, operation, validate};
use common::{AUD, Answer, World, answer, req};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use token_core::apikey::NewKey;
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryRefreshStore;
use token_core::client::ClientCredentials;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::Keyring;
use token_ratelimit::{Limiter, Quota};
use token_scopes::{Policy, RuleSpec};
use token_tower::AuthLayer;
use token_tower::routes::{KeyAdmin, OAuthRoutes, jwks_router, openapi};
use tower::ServiceExt;

/// Every router of the crate, merged, without a layer in front.
fn routers(world: &World) -> Router {
    let clients = ClientCredentials::new(MemoryClientStore::new(), world.minter.clone());
    let keyring = world.keyring.clone();
    Router::new()
        .merge(KeyAdmin::new(world.keys.clone()).router())
        .merge(
            OAuthRoutes::<_, MemoryRefreshStore, _>::new(
                clients,
                world.minter.clone(),
                AUD,
                world.authenticator(),
            )
            .router(),
        )
        .merge(jwks_router(move || keyring.public_jwks()))
        .merge(openapi::router("/openapi.json", openapi::document()))
}

async fn call(app: &Router, request: http::Request<http_body_util::Full<bytes::Bytes>>) -> Answer {
    answer(app.clone().oneshot(request).await.unwrap()).await
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op));
            }
        }
    }
    out
}

#[test]
fn the_document_is_openapi_3_1_and_holds_together() {
    let doc = &*DOCUMENT;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "tokenkit");
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["client_basic"]["scheme"], "basic");
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(doc) {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap()),
            "{what}: duplicate id"
        );
        for requirement in op["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: unknown scheme {name}");
            }
        }
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no success"
        );
        // The layer in front may refuse any request: every operation says so.
        for status in ["400", "401", "403", "429", "503"] {
            let content = &responses[status]["content"]["application/problem+json"];
            assert_eq!(
                content["schema"]["$ref"], "#/components/schemas/Problem",
                "{what} {status}"
            );
        }
        assert!(
            responses["401"]["headers"]
                .get("WWW-Authenticate")
                .is_some()
        );
        assert!(responses["429"]["headers"].get("Retry-After").is_some());
        for (status, response) in responses {
            for (media, content) in response["content"].as_object().into_iter().flatten() {
                assert!(
                    content.get("schema").is_some(),
                    "{what} {status} {media}: no schema"
                );
            }
        }
        if let Some(body) = op.get("requestBody") {
            let media: Vec<_> = body["content"].as_object().unwrap().keys().collect();
            let expected = if path.starts_with("/oauth/") {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            assert_eq!(media, [expected], "{what}");
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            match p["in"].as_str() {
                Some("path") => assert!(path.contains(&format!("{{{name}}}")), "{what}"),
                // The listing's filters, and `Idempotency-Key` on creation.
                Some("query") => assert_eq!(what, "get /admin/keys", "{name}"),
                Some("header") => assert_eq!(
                    (what.as_str(), name),
                    ("post /admin/keys", "Idempotency-Key")
                ),
                other => panic!("{what}: a parameter in {other:?}"),
            }
        }
    }
    // The parts make up the whole.
    let mut parts = BTreeSet::new();
    for part in [openapi::key_admin(), openapi::oauth(), openapi::jwks()] {
        let part = serde_json::to_value(part).unwrap();
        parts.extend(part["paths"].as_object().unwrap().keys().cloned());
    }
    let whole: BTreeSet<_> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(parts, whole);
}

/// The paths the routers mount, read from their definitions: every `.route("...")`
/// in `src/routes/`. A route added there without a `#[utoipa::path]` fails here.
fn mounted_paths() -> BTreeSet<String> {
    fn scan(dir: &std::path::Path, paths: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, paths);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".route(").skip(1) {
                if let Some(rest) = piece.trim_start().strip_prefix('"') {
                    paths.insert(rest[..rest.find('"').unwrap()].to_owned());
                }
            }
        }
    }
    let mut paths = BTreeSet::new();
    scan(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes"),
        &mut paths,
    );
    paths
}

#[tokio::test]
async fn every_route_the_routers_mount_is_documented_with_every_method() {
    let mounted = mounted_paths();
    let documented: BTreeSet<String> = DOCUMENT["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(mounted.len() >= 5, "{mounted:?}");
    assert_eq!(
        mounted, documented,
        "mounted (left) and documented (right) differ"
    );

    // Each documented path answers an unknown method with 405 and the methods the
    // router mounts there in `Allow`: those are exactly the documented ones (HEAD
    // comes with GET).
    let world = World::new();
    let app = routers(&world);
    let served: Value =
        serde_json::from_str(&call(&app, req("GET", "/openapi.json").build()).await.body).unwrap();
    for (path, item) in served["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", "key_probe");
        let probe = call(&app, req("PROBE", &concrete).build()).await;
        assert_eq!(probe.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allowed: BTreeSet<String> = probe
            .header("allow")
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| m != "head")
            .collect();
        let documented: BTreeSet<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| (*m).to_owned())
            .collect();
        assert_eq!(
            allowed, documented,
            "{path}: mounted (left), documented (right)"
        );
    }
    // And nothing is mounted beside the documented paths.
    assert_eq!(
        call(&app, req("GET", "/admin").build()).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_document_router_serves_the_document_and_itself() {
    let world = World::new();
    let app = routers(&world);
    let a = call(&app, req("GET", "/openapi.json").build()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let served: Value = serde_json::from_str(&a.body).unwrap();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    let op = operation(&served, &Method::GET, "/openapi.json").expect("the route documents itself");
    assert_eq!(op["operationId"], "openapi_document");
    assert_eq!(
        conforms_to(&served, &Method::GET, "/openapi.json", &a),
        Ok(true)
    );
    // The rest is the document it was given.
    let mut without = served.clone();
    without["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/openapi.json");
    assert_eq!(without["paths"], DOCUMENT["paths"]);
    assert_eq!(without["components"], DOCUMENT["components"]);
}

/// The routers behind a layer with a limit of `per_minute` requests per principal, and
/// an admin key.
async fn behind_a_layer(per_minute: u32) -> (World, Router, String) {
    let world = World::new();
    let policy = Policy::builder()
        .rule(RuleSpec::new("GET", "/.well-known/jwks.json").public())
        .rule(RuleSpec::new("GET", "/openapi.json").public())
        .rule(RuleSpec::new("POST", "/oauth/token").public())
        .rule(RuleSpec::new("POST", "/oauth/revoke").public())
        .rule(RuleSpec::new("POST", "/oauth/introspect").require("tokens:introspect"))
        .rule(RuleSpec::new("*", "/admin/keys").require("admin:keys"))
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").require("admin:keys"))
        .build()
        .unwrap();
    let limiter = Limiter::builder()
        .principal(Quota::per_minute(per_minute).unwrap())
        .build()
        .unwrap();
    let app = routers(&world).layer(
        AuthLayer::builder(world.authenticator(), policy)
            .limiter(limiter)
            .build(),
    );
    let (admin, _) = world
        .key(NewKey::new(
            "admin",
            "admin:keys tokens:introspect read:reports".parse().unwrap(),
        ))
        .await;
    let admin = admin.expose_secret().to_owned();
    (world, app, admin)
}

#[tokio::test]
async fn the_layers_refusals_match_the_document() {
    let (world, app, admin) = behind_a_layer(3).await;
    let (reader, _) = world
        .key(NewKey::new("reader", "read:reports".parse().unwrap()))
        .await;
    let reader = reader.expose_secret();
    let (keys, one, bad) = ("/admin/keys", "/admin/keys/key_x", "/admin/keys/%FF");
    let cases = [
        (req("GET", keys), 401, "unauthenticated"),
        (
            req("GET", keys).api_key("tk_live_nonsense"),
            401,
            "key_malformed",
        ),
        (
            req("GET", "/admin/keys?api_key=x"),
            400,
            "credential_in_query",
        ),
        (
            req("GET", keys).api_key(&admin).bearer(reader),
            400,
            "credential_ambiguous",
        ),
        (req("GET", one).api_key(reader), 403, "insufficient_scope"),
        (
            req("POST", "/oauth/introspect").api_key(reader),
            403,
            "insufficient_scope",
        ),
        (
            req("GET", keys).api_key(&admin).peer("192.0.2.1:1"),
            400,
            "insecure_transport",
        ),
        (req("POST", "/oauth/token").bearer("garbage"), 401, ""),
        (req("GET", "/.well-known/jwks.json"), 200, ""),
        (req("GET", "/openapi.json"), 200, ""),
        (req("GET", keys).api_key(&admin), 200, ""),
        (req("GET", one).api_key(&admin), 404, "key_not_found"),
        // A path parameter that does not decode: a problem document, not axum's text.
        (req("GET", bad).api_key(&admin), 400, "invalid_request"),
        (req("GET", keys).api_key(&admin), 429, "rate_limited"),
    ];
    // Fetched without the layer: anonymous requests count against the limit too.
    let served = call(&routers(&world), req("GET", "/openapi.json").build()).await;
    let served: Value = serde_json::from_str(&served.body).unwrap();
    for (request, status, code) in cases {
        let request = request.build();
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let a = call(&app, request).await;
        assert_eq!(a.status.as_u16(), status, "{method} {path}: {}", a.body);
        if !code.is_empty() {
            assert_eq!(a.code(), code, "{method} {path}");
        }
        assert_eq!(
            conforms_to(&served, &method, &path, &a),
            Ok(true),
            "{method} {path}"
        );
    }
}

#[test]
fn the_checker_refuses_what_the_document_does_not_promise() {
    let answer = |status: u16, content_type: &str, body: Value| Answer {
        status: StatusCode::from_u16(status).unwrap(),
        headers: {
            let mut h = http::HeaderMap::new();
            h.insert("content-type", content_type.parse().unwrap());
            h
        },
        body: body.to_string(),
    };
    let check = |method: Method, path: &str, a: &Answer| conforms_to(&DOCUMENT, &method, path, a);
    let key = json!({
        "id": "key_1", "hint": "tk_live_ab…", "name": "k", "owner": null, "tenant": null,
        "scopes": ["read:reports"], "status": {"state": "active"}, "created_at": 1,
        "expires_at": null, "last_used_at": null, "networks": [], "rate_limit": null,
        "credits": null, "credits_from": null, "metadata": {}
    });
    assert_eq!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(200, "application/json", key.clone())
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            Method::GET,
            "/api/elsewhere",
            &answer(200, "application/json", key.clone())
        ),
        Ok(false)
    );
    // A status the operation does not document.
    assert!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(418, "application/json", key.clone())
        )
        .is_err()
    );
    // A content type it does not document for the status.
    assert!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(200, "text/plain", key.clone())
        )
        .is_err()
    );
    // A required member missing, a wrong type, a value outside an enum.
    let mut missing = key.clone();
    missing.as_object_mut().unwrap().remove("hint");
    assert!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(200, "application/json", missing)
        )
        .is_err()
    );
    let mut wrong = key.clone();
    wrong["created_at"] = json!("yesterday");
    assert!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(200, "application/json", wrong)
        )
        .is_err()
    );
    let mut state = key.clone();
    state["status"] = json!({"state": "paused"});
    assert!(
        check(
            Method::GET,
            "/admin/keys/key_1",
            &answer(200, "application/json", state)
        )
        .is_err()
    );
    // An introspection answer must be exactly one of its shapes.
    let inactive = answer(200, "application/json", json!({"active": false}));
    assert_eq!(
        check(Method::POST, "/oauth/introspect", &inactive),
        Ok(true)
    );
    let half = answer(200, "application/json", json!({"active": true}));
    assert!(check(Method::POST, "/oauth/introspect", &half).is_err());
    // A problem document must be one.
    let problem = answer(403, "application/problem+json", json!({"code": "no_rule"}));
    assert!(check(Method::GET, "/admin/keys", &problem).is_err());
    // The validator never passes a keyword it does not know.
    let mut errors = Vec::new();
    validate(
        &DOCUMENT,
        &json!({"pattern": "^a"}),
        &json!("b"),
        "$",
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn the_schemas_of_foreign_types_match_how_they_serialize() {
    use token_core::apikey::KeyStatus;
    let schema = json!({"$ref": "#/components/schemas/KeyStatus"});
    let statuses = [
        KeyStatus::Active,
        KeyStatus::Revoked {
            at: 1,
            reason: "r".into(),
        },
        KeyStatus::Rotated {
            successor: "key_2".into(),
            grace_end: 2,
        },
    ];
    for status in statuses {
        let value = serde_json::to_value(&status).unwrap();
        let mut errors = Vec::new();
        validate(&DOCUMENT, &schema, &value, "$", &mut errors);
        assert!(errors.is_empty(), "{value}: {errors:?}");
    }
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES384] {
        let keyring = Keyring::new(SigningKey::generate(alg).unwrap());
        let set = serde_json::to_value(keyring.public_jwks()).unwrap();
        assert_eq!(set["keys"].as_array().unwrap().len(), 1);
        let mut errors = Vec::new();
        let schema = json!({"$ref": "#/components/schemas/JwkSet"});
        validate(&DOCUMENT, &schema, &set, "$", &mut errors);
        assert!(errors.is_empty(), "{set}: {errors:?}");
    }
}

/// Every string over `alphabet` of at most `len` characters.
fn strings(alphabet: &[char], len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..len {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[test]
fn the_documented_scope_grammar_is_the_parsers() {
    use token_scopes::limits::MAX_SCOPE_LEN;
    use token_scopes::{Scope, ScopeSet};
    let scopes = &DOCUMENT["components"]["schemas"]["Scopes"]["oneOf"];
    let one = regex::Regex::new(scopes[0]["items"]["pattern"].as_str().unwrap()).unwrap();
    let text = regex::Regex::new(scopes[1]["pattern"].as_str().unwrap()).unwrap();
    assert_eq!(scopes[0]["items"]["maxLength"], MAX_SCOPE_LEN);
    let mut cases = strings(&['a', '0', ':', '*', '.', 'Z', '_'], 5);
    for depth in 6..=10 {
        cases.push(vec!["a"; depth].join(":"));
        cases.push(format!("{}:*", vec!["a"; depth - 1].join(":")));
    }
    cases.push("a".repeat(MAX_SCOPE_LEN));
    for s in &cases {
        let documented = one.is_match(s) && s.len() <= MAX_SCOPE_LEN;
        assert_eq!(documented, Scope::new(s).is_ok(), "{s:?}");
    }
    for s in strings(&['a', ':', '*', ' ', 'B'], 5) {
        // The empty set parses, and the key rules refuse it: the document asks for one.
        let parsed = ScopeSet::parse(&s).is_ok_and(|set| !set.is_empty());
        assert_eq!(text.is_match(&s), parsed, "{s:?}");
    }
}

#[tokio::test]
async fn request_bodies_are_read_as_the_document_describes_them() {
    let (_, app, admin) = behind_a_layer(100).await;
    let send = |method: &str, path: &str, body: &str| {
        req(method, path)
            .api_key(&admin)
            .header("content-type", "application/json")
            .body(body)
    };
    let created = call(
        &app,
        send(
            "POST",
            "/admin/keys",
            r#"{"name": "k", "scopes": "read:reports"}"#,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = serde_json::from_str::<Value>(&created.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = format!("/admin/keys/{id}");
    // An object, never an array: serde would read a struct from `[...]`.
    for (method, path) in [("POST", "/admin/keys"), ("PATCH", key.as_str())] {
        for body in ["[null, null]", r#"["k", ["read:reports"]]"#, "null", "7"] {
            let a = call(&app, send(method, path, body)).await;
            assert_eq!(
                a.status,
                StatusCode::BAD_REQUEST,
                "{method} {path} {body}: {}",
                a.body
            );
            assert_eq!(a.code(), "invalid_request");
        }
    }
    let rotate = format!("{key}/rotate");
    let a = call(&app, send("POST", &rotate, "[3600]")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    // The rotation body is optional, and `null` (documented) is no body.
    let a = call(&app, send("POST", &rotate, "null")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(conforms_to(&DOCUMENT, &Method::POST, &rotate, &a), Ok(true));
}
