//! Key administration for fleets, over HTTP behind the layer: every attribute on
//! create and update (accepted, and refused with the field named), paged and filtered
//! listings under concurrent change, bulk revocation, idempotent creation, and the
//! audit trail of who changed what. Every answer is checked against the OpenAPI
//! document.

#![cfg(feature = "axum")]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{Answer, NOW, answer};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use token_audit::sink::MemorySink;
use token_audit::{Auditor, EventKind};
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryKeyStore;
use token_core::{Authenticator, ManualClock};
use token_scopes::{Policy, RuleSpec};
use token_tower::routes::KeyAdmin;
use token_tower::{AuthLayer, Authenticated};
use tower::ServiceExt;

struct App {
    router: Router,
    clock: ManualClock,
    keys: ApiKeys<MemoryKeyStore>,
    sink: MemorySink,
    auditor: Auditor,
    admin: String,
    admin_id: String,
}

fn policy() -> Policy {
    Policy::builder()
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .rule(RuleSpec::new("*", "/admin/keys").require("admin:keys"))
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").require("admin:keys"))
        .build()
        .unwrap()
}

async fn app() -> App {
    let clock = ManualClock::new(NOW);
    let shared: Arc<dyn token_core::Clock> = Arc::new(clock.clone());
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::clone(&shared))
        .build();
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let admin = KeyAdmin::new(keys.clone())
        .auditor(auditor.clone())
        .clock(shared)
        .idempotency_capacity(100);
    let router = Router::new()
        .route(
            "/api/reports",
            get(|who: Authenticated| async move { who.id().to_owned() }),
        )
        .merge(admin.router())
        .layer(
            AuthLayer::builder(Authenticator::new().api_keys(keys.clone()), policy())
                .auditor(auditor.clone())
                .build(),
        );
    let (secret, record) = keys
        .mint(
            NewKey::new(
                "bootstrap",
                "admin:keys admin:tenants read:reports".parse().unwrap(),
            )
            .tenant("acme"),
        )
        .await
        .unwrap();
    App {
        router,
        clock,
        keys,
        sink,
        auditor,
        admin: secret.expose_secret().to_owned(),
        admin_id: record.id,
    }
}

impl App {
    async fn send(&self, request: Request<Body>) -> Answer {
        let mut request = request;
        request
            .extensions_mut()
            .insert(token_tower::PeerAddr("127.0.0.1:9".parse().unwrap()));
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let answer = answer(self.router.clone().oneshot(request).await.unwrap()).await;
        common::openapi::assert_conforms(&method, &path, &answer);
        answer
    }

    fn request(method: &str, path: &str, credential: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/json")
    }

    async fn call(&self, method: &str, path: &str, credential: &str, body: &Value) -> Answer {
        let r = Self::request(method, path, credential)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(r).await
    }

    async fn create(&self, body: &Value) -> Answer {
        self.call("POST", "/admin/keys", &self.admin, body).await
    }

    async fn get(&self, path: &str, credential: &str) -> Answer {
        let r = Self::request("GET", path, credential)
            .body(Body::empty())
            .unwrap();
        self.send(r).await
    }

    /// A key minted directly with this owner and name; its secret and id.
    async fn owned(&self, owner: &str, name: &str, tenant: &str) -> (String, String) {
        let spec = NewKey::new(name, "read:reports".parse().unwrap())
            .owner(owner)
            .tenant(tenant);
        let (secret, record) = self.keys.mint(spec).await.unwrap();
        (secret.expose_secret().to_owned(), record.id)
    }
}

fn json(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap()
}

/// The field and code a refusal names.
fn refused(a: &Answer) -> (StatusCode, String, String) {
    let p = a.problem();
    (
        a.status,
        p["code"].as_str().unwrap_or_default().to_owned(),
        p["field"].as_str().unwrap_or_default().to_owned(),
    )
}

fn base() -> Value {
    json!({"name": "k", "scopes": "read:reports"})
}

fn with(field: &str, value: Value) -> Value {
    let mut body = base();
    body[field] = value;
    body
}

#[tokio::test]
async fn every_attribute_is_accepted_on_creation() {
    let app = app().await;
    let body = json!({
        "name": "billing",
        "scopes": ["read:reports"],
        "networks": ["10.0.0.0/8", "2001:db8::/32"],
        "rate_limit": "100/minute",
        "credits": {"remaining": 5, "refill": {"amount": 1000, "interval": "monthly"}},
        "metadata": {"team": "growth", "plan": "pro"},
        "expires_at": NOW + 3600,
    });
    let a = app.create(&body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let k = json(&a);
    assert_eq!(k["networks"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(k["rate_limit"], "100/minute");
    assert_eq!(k["credits"]["remaining"], 5);
    assert_eq!(k["credits"]["refill"]["amount"], 1000);
    assert_eq!(k["credits"]["refill"]["interval"], "monthly");
    assert_eq!(k["metadata"]["team"], "growth");
    assert_eq!(k["expires_at"], NOW + 3600);
    assert!(!a.body.contains("\"hash\""));
    let daily = app
        .create(&with(
            "credits",
            json!({"remaining": 0, "refill": {"amount": 3, "interval": "daily"}}),
        ))
        .await;
    assert_eq!(daily.status, StatusCode::CREATED, "{}", daily.body);
    let fixed = app.create(&with("credits", json!({"remaining": 2}))).await;
    assert_eq!(json(&fixed)["credits"]["refill"], Value::Null);
    let ttl = app.create(&with("ttl", json!("1h"))).await;
    assert_eq!(json(&ttl)["expires_at"], NOW + 3600);
    // The network allowlist and the credits hold on the next request.
    let secret = json(&fixed)["secret"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(
            app.get("/api/reports", &secret).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.get("/api/reports", &secret).await.code(),
        "usage_exceeded"
    );
    let secret = k["secret"].as_str().unwrap();
    assert_eq!(
        app.get("/api/reports", secret).await.code(),
        "network_denied",
        "127.0.0.1 is outside 10.0.0.0/8"
    );
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one table of refusals
async fn each_refused_creation_names_its_field_and_rule() {
    let app = app().await;
    let big = json!({"k": "v".repeat(4096)});
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        (with("networks", json!(["10.0.0.0/33"])), "networks"),
        (with("networks", json!("10.0.0.0/8")), "networks"),
        (with("networks", json!(vec!["10.0.0.0/8"; 65])), "networks"),
        (with("rate_limit", json!("lots")), "rate_limit"),
        (with("rate_limit", json!("0/minute")), "rate_limit"),
        (with("rate_limit", json!(100)), "rate_limit"),
        (with("credits", json!({"remaining": -1})), "credits"),
        (
            with(
                "credits",
                json!({"remaining": 1, "refill": {"amount": 1, "interval": "weekly"}}),
            ),
            "credits",
        ),
        (
            with(
                "credits",
                json!({"remaining": 1, "refill": {"amount": 0, "interval": "daily"}}),
            ),
            "credits.refill.amount",
        ),
        (
            with("credits", json!({"remaining": 1, "extra": true})),
            "credits",
        ),
        (with("metadata", Value::Object(many)), "metadata"),
        (with("metadata", big), "metadata"),
        (with("metadata", json!({"k": 5})), "metadata"),
        (with("metadata", json!({"": "v"})), "metadata"),
        (with("ttl", json!(0)), "ttl"),
        (with("ttl", json!("forever")), "ttl"),
        (with("expires_at", json!(NOW)), "expires_at"),
        (with("expires_at", json!("tomorrow")), "expires_at"),
        (
            with("expires_at", json!(NOW + 20 * 365 * 86_400)),
            "expires_at",
        ),
        (
            json!({"name": "k", "scopes": "read:reports", "ttl": 60, "expires_at": NOW + 60}),
            "expires_at",
        ),
        (with("nmae", json!("typo")), "nmae"),
        (json!({"scopes": "read:reports"}), "name"),
        (with("name", json!(" ")), "name"),
        (with("scopes", json!("")), "scopes"),
        (with("tenant", json!(5)), "tenant"),
    ];
    for (body, field) in cases {
        let a = app.create(&body).await;
        assert_eq!(
            refused(&a),
            (
                StatusCode::BAD_REQUEST,
                "invalid_request".into(),
                field.into()
            ),
            "{body}: {}",
            a.body
        );
        assert!(a.problem()["rule"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // A creator's limits still apply: a network outside an admin's own.
    let (restricted, _) = app
        .keys
        .mint(
            NewKey::new("net admin", "admin:keys read:reports".parse().unwrap())
                .tenant("acme")
                .networks(vec!["127.0.0.0/8".parse().unwrap()]),
        )
        .await
        .unwrap();
    let a = app
        .call(
            "POST",
            "/admin/keys",
            restricted.expose_secret(),
            &with("networks", json!(["10.0.0.0/8"])),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "network_widening".into())
    );
    let inside = app
        .call(
            "POST",
            "/admin/keys",
            restricted.expose_secret(),
            &with("networks", json!(["127.0.0.1/32"])),
        )
        .await;
    assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.body);
    // An admin with an override of its own hands out only that one.
    let (limited, _) = app
        .keys
        .mint(
            NewKey::new("limited admin", "admin:keys read:reports".parse().unwrap())
                .tenant("acme")
                .rate_limit("10/minute"),
        )
        .await
        .unwrap();
    let a = app
        .call(
            "POST",
            "/admin/keys",
            limited.expose_secret(),
            &with("rate_limit", json!("1000/second")),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "rate_limit_override".into())
    );
}

#[tokio::test]
async fn every_attribute_changes_by_patch_and_each_refusal_names_its_field() {
    let app = app().await;
    let created = app
        .create(&json!({"name": "k", "scopes": "read:reports", "networks": ["10.0.0.0/8"], "ttl": "30d"}))
        .await;
    let id = json(&created)["id"].as_str().unwrap().to_owned();
    let key_path = format!("/admin/keys/{id}");
    let patch = |body: Value| {
        let app = &app;
        let key_path = key_path.clone();
        async move { app.call("PATCH", &key_path, &app.admin, &body).await }
    };
    let changed = patch(json!({
        "networks": ["10.1.0.0/16"],
        "rate_limit": "5/second",
        "credits": {"remaining": 10, "refill": {"amount": 10, "interval": "daily"}},
        "metadata": {"plan": "free"},
        "ttl": 600,
    }))
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let k = json(&changed);
    assert_eq!(k["networks"], json!(["10.1.0.0/16"]));
    assert_eq!(k["rate_limit"], "5/second");
    assert_eq!(k["credits"]["remaining"], 10);
    assert_eq!(k["metadata"], json!({"plan": "free"}));
    assert_eq!(k["expires_at"], NOW + 600);
    let removed = patch(json!({"rate_limit": null})).await;
    assert_eq!(json(&removed)["rate_limit"], Value::Null);
    let earlier = patch(json!({"expires_at": NOW + 60})).await;
    assert_eq!(json(&earlier)["expires_at"], NOW + 60);

    let bad = [
        (json!({"networks": ["nope"]}), "networks"),
        (json!({"rate_limit": "fast"}), "rate_limit"),
        (json!({"credits": {"remaining": "many"}}), "credits"),
        (
            json!({"credits": {"remaining": 1, "refill": {"amount": 0, "interval": "monthly"}}}),
            "credits.refill.amount",
        ),
        (json!({"metadata": {"k": ["v"]}}), "metadata"),
        (json!({"ttl": -5}), "ttl"),
        (json!({"ttl": 30, "expires_at": NOW + 30}), "expires_at"),
        (json!({"expires_at": NOW - 1}), "expires_at"),
        (json!({"name": ""}), "name"),
        (json!({"scopes": ""}), "scopes"),
        (json!({"owner": "me"}), "owner"),
    ];
    for (body, field) in bad {
        let a = patch(body.clone()).await;
        assert_eq!(
            refused(&a),
            (
                StatusCode::BAD_REQUEST,
                "invalid_request".into(),
                field.into()
            ),
            "{body}: {}",
            a.body
        );
    }
    // Narrowing only: a wider network, or none (anywhere), or a later expiry.
    for (body, code) in [
        (json!({"networks": ["0.0.0.0/0"]}), "network_widening"),
        (json!({"networks": []}), "network_widening"),
        (json!({"expires_at": NOW + 120}), "expiry_extension"),
    ] {
        let a = patch(body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, code.into()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn listings_come_by_page_with_filters_and_never_show_a_secret() {
    let app = app().await;
    let mut secrets = Vec::new();
    for i in 0..5 {
        app.clock.advance_secs(1);
        secrets.push(app.owned("app-1", &format!("billing-{i}"), "acme").await);
    }
    for i in 0..3 {
        secrets.push(app.owned("app-2", &format!("web-{i}"), "acme").await);
    }
    app.clock.advance_secs(1);
    let other = app.owned("app-1", "elsewhere", "globex").await;
    app.keys.revoke(&secrets[1].1, "test").await.unwrap();

    let first = app.get("/admin/keys?limit=3&owner=app-1", &app.admin).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let page = json(&first);
    let ids = |page: &Value| -> Vec<String> {
        page["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&page),
        [
            secrets[0].1.clone(),
            secrets[1].1.clone(),
            secrets[2].1.clone()
        ]
    );
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let second = json(
        &app.get(
            &format!("/admin/keys?limit=3&owner=app-1&cursor={cursor}"),
            &app.admin,
        )
        .await,
    );
    assert_eq!(
        ids(&second),
        [secrets[3].1.clone(), secrets[4].1.clone(), other.1.clone()],
        "cross-tenant admin"
    );
    assert_eq!(second["next_cursor"], Value::Null);

    let active = json(&app.get("/admin/keys?status=revoked", &app.admin).await);
    assert_eq!(ids(&active), [secrets[1].1.clone()]);
    let web = json(
        &app.get("/admin/keys?name_prefix=web-&limit=500", &app.admin)
            .await,
    );
    assert_eq!(ids(&web).len(), 3);
    let acme_only = json(&app.get("/admin/keys?tenant=globex", &app.admin).await);
    assert_eq!(ids(&acme_only), std::slice::from_ref(&other.1));
    let default = json(&app.get("/admin/keys", &app.admin).await);
    assert_eq!(ids(&default).len(), 10, "default limit 50 holds all");

    // A tenant's admin sees its tenant only, and may not ask for another.
    let (tenant_admin, _) = app
        .keys
        .mint(
            NewKey::new("globex admin", "admin:keys read:reports".parse().unwrap())
                .tenant("globex"),
        )
        .await
        .unwrap();
    let ta = tenant_admin.expose_secret();
    let theirs = json(&app.get("/admin/keys?owner=app-1", ta).await);
    assert_eq!(ids(&theirs), std::slice::from_ref(&other.1));
    assert_eq!(
        app.get("/admin/keys?tenant=acme", ta).await.code(),
        "tenant_mismatch"
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("cursor=garbage!", "cursor"),
        ("cursor=", "cursor"),
        ("status=expired", "status"),
        ("sort=name", "sort"),
        ("owner=a&owner=b", "owner"),
    ] {
        let a = app.get(&format!("/admin/keys?{query}"), &app.admin).await;
        assert_eq!(
            refused(&a),
            (
                StatusCode::BAD_REQUEST,
                "invalid_request".into(),
                field.into()
            ),
            "{query}: {}",
            a.body
        );
    }
    let everything = app.get("/admin/keys?limit=500", &app.admin).await;
    for (secret, _) in &secrets {
        assert!(!everything.body.contains(secret.as_str()));
    }
    assert!(!everything.body.contains("\"hash\""));
}

#[tokio::test]
async fn walking_pages_while_keys_are_minted_and_revoked_never_repeats_or_skips() {
    let app = app().await;
    let mut initial = Vec::new();
    for i in 0..12 {
        if i % 3 == 0 {
            app.clock.advance_secs(1);
        }
        initial.push(app.owned("fleet", &format!("k{i}"), "acme").await.1);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut round = 0;
    loop {
        let query = if cursor.is_empty() {
            "/admin/keys?owner=fleet&limit=2".to_owned()
        } else {
            format!("/admin/keys?owner=fleet&limit=2&cursor={cursor}")
        };
        let page = json(&app.get(&query, &app.admin).await);
        for k in page["keys"].as_array().unwrap() {
            seen.push(k["id"].as_str().unwrap().to_owned());
        }
        // Between pages: mint (sometimes in the same second) and revoke.
        round += 1;
        if round % 2 == 0 {
            app.clock.advance_secs(1);
        }
        app.owned("fleet", &format!("new{round}"), "acme").await;
        let victim = &initial[(round * 5) % initial.len()];
        app.call(
            "DELETE",
            &format!("/admin/keys/{victim}"),
            &app.admin,
            &Value::Null,
        )
        .await;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        assert!(round < 100, "the walk ends");
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no key twice");
    for id in &initial {
        assert!(
            unique.contains(id),
            "{id} existed throughout and was skipped"
        );
    }
}

#[tokio::test]
async fn bulk_revocation_by_owner_or_tenant_refuses_the_next_request_and_is_one_event() {
    let app = app().await;
    let a1 = app.owned("app-1", "a", "acme").await;
    let a2 = app.owned("app-1", "b", "acme").await;
    let keep = app.owned("app-2", "c", "acme").await;
    let g = app.owned("app-9", "d", "globex").await;
    // Warm: the cached verification must not outlive the revocation.
    assert_eq!(app.get("/api/reports", &a1.0).await.status, StatusCode::OK);

    let done = app
        .call(
            "POST",
            "/admin/keys/revoke",
            &app.admin,
            &json!({"owner": "app-1"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        json(&done),
        json!({"selector": "owner", "value": "app-1", "revoked": 2})
    );
    for s in [&a1.0, &a2.0] {
        assert_eq!(app.get("/api/reports", s).await.code(), "key_revoked");
    }
    assert_eq!(
        app.get("/api/reports", &keep.0).await.status,
        StatusCode::OK
    );

    // The tenant: its own admin, or the cross-tenant scope.
    let (acme_admin, _) = app
        .keys
        .mint(NewKey::new("acme admin", "admin:keys read:reports".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let refused_tenant = app
        .call(
            "POST",
            "/admin/keys/revoke",
            acme_admin.expose_secret(),
            &json!({"tenant": "globex"}),
        )
        .await;
    assert_eq!(
        (refused_tenant.status, refused_tenant.code()),
        (StatusCode::FORBIDDEN, "tenant_mismatch".into())
    );
    assert_eq!(app.get("/api/reports", &g.0).await.status, StatusCode::OK);
    let all = app
        .call(
            "POST",
            "/admin/keys/revoke",
            &app.admin,
            &json!({"tenant": "globex"}),
        )
        .await;
    assert_eq!(json(&all)["revoked"], 1);
    assert_eq!(app.get("/api/reports", &g.0).await.code(), "key_revoked");
    // A tenant admin may not revoke a key wider than itself (the bootstrap admin).
    let wider = app
        .call(
            "POST",
            "/admin/keys/revoke",
            acme_admin.expose_secret(),
            &json!({"tenant": "acme"}),
        )
        .await;
    assert_eq!(wider.code(), "scope_widening");
    assert_eq!(
        app.get("/api/reports", &keep.0).await.status,
        StatusCode::OK
    );

    for (body, field) in [
        (json!({}), "owner"),
        (json!({"owner": "a", "tenant": "b"}), "tenant"),
        (json!({"owner": ""}), "owner"),
        (json!({"everyone": true}), "everyone"),
        (json!({"owner": 7}), "owner"),
    ] {
        let a = app
            .call("POST", "/admin/keys/revoke", &app.admin, &body)
            .await;
        assert_eq!(
            refused(&a),
            (
                StatusCode::BAD_REQUEST,
                "invalid_request".into(),
                field.into()
            ),
            "{body}"
        );
    }

    app.auditor.flush();
    let bulk: Vec<_> = app
        .sink
        .events()
        .into_iter()
        .filter(|e| e.kind() == EventKind::KeyRevoked && e.counted().is_some())
        .collect();
    assert_eq!(bulk.len(), 2, "one event per bulk revocation");
    assert_eq!(bulk[0].target_id(), Some("owner:app-1"));
    assert_eq!(bulk[0].counted(), Some(2));
    assert_eq!(bulk[0].principal(), Some(app.admin_id.as_str()));
    assert_eq!(bulk[1].target_id(), Some("tenant:globex"));
}

#[tokio::test]
async fn idempotent_creation_answers_the_same_key_once_and_refuses_another_body() {
    let app = app().await;
    let post = |key: &str, body: &Value, credential: &str| {
        let r = App::request("POST", "/admin/keys", credential)
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = &app;
        async move { app.send(r).await }
    };
    let body = json!({"name": "ci", "scopes": "read:reports", "metadata": {"a": "1", "b": "2"}});
    let first = post("retry-1", &body, &app.admin).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = json(&first)["id"].as_str().unwrap().to_owned();
    let secret = json(&first)["secret"].as_str().unwrap().to_owned();

    // The same body (members in another order) answers the same key, without a secret.
    let same = json!({"metadata": {"b": "2", "a": "1"}, "scopes": "read:reports", "name": "ci"});
    let retry = post("retry-1", &same, &app.admin).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let r = json(&retry);
    assert_eq!(r["id"], id.as_str());
    assert_eq!(r["replayed"], true);
    assert!(r.get("secret").is_none() && !retry.body.contains(&secret));
    let listed = json(&app.get("/admin/keys?name_prefix=ci", &app.admin).await);
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "no second key");

    // Another body under the same key: 422.
    let other = post(
        "retry-1",
        &json!({"name": "ci2", "scopes": "read:reports"}),
        &app.admin,
    )
    .await;
    assert_eq!(
        (other.status, other.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused".into()
        )
    );
    // Keys are per caller: another admin's "retry-1" is its own.
    let (second_admin, _) = app
        .keys
        .mint(NewKey::new("other admin", "admin:keys read:reports".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let theirs = post("retry-1", &body, second_admin.expose_secret()).await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert_ne!(json(&theirs)["id"], id.as_str());
    // A refused body does not use up the key.
    let bad = post("retry-2", &json!({"name": "x", "scopes": ""}), &app.admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        post("retry-2", &body, &app.admin).await.status,
        StatusCode::CREATED
    );
    // After 24 hours the key is new again.
    app.clock.advance_secs(86_400);
    let later = post("retry-1", &body, &app.admin).await;
    assert_eq!(later.status, StatusCode::CREATED);
    assert_ne!(json(&later)["id"], id.as_str());
    // A malformed key.
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "with space"] {
        let a = post(key, &body, &app.admin).await;
        assert_eq!(refused(&a).2, "Idempotency-Key", "{key:?}");
    }
}

#[tokio::test]
async fn each_change_names_the_actor_the_fields_old_and_new_and_the_request_id() {
    let app = app().await;
    let send = |method: &str, path: &str, body: Value, request_id: &str| {
        let r = App::request(method, path, &app.admin)
            .header("x-request-id", request_id)
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = &app;
        async move { app.send(r).await }
    };
    let created = send(
        "POST",
        "/admin/keys",
        json!({"name": "k", "scopes": "read:reports", "networks": ["10.0.0.0/8"]}),
        "req-1",
    )
    .await;
    let k = json(&created);
    let id = k["id"].as_str().unwrap().to_owned();
    let secret = k["secret"].as_str().unwrap().to_owned();
    send(
        "PATCH",
        &format!("/admin/keys/{id}"),
        json!({"name": "renamed", "networks": ["10.2.0.0/16"]}),
        "req-2",
    )
    .await;
    let rotated = send(
        "POST",
        &format!("/admin/keys/{id}/rotate"),
        json!({"grace": 0}),
        "req-3",
    )
    .await;
    let successor = json(&rotated)["id"].as_str().unwrap().to_owned();
    send(
        "DELETE",
        &format!("/admin/keys/{successor}"),
        Value::Null,
        "req-4",
    )
    .await;

    app.auditor.flush();
    let events = app.sink.events();
    let of = |kind: EventKind| events.iter().find(|e| e.kind() == kind).unwrap();
    let change = |e: &token_audit::AuditEvent, field: &str| {
        let c = e.changed().iter().find(|c| c.field == field).unwrap();
        (c.old.clone(), c.new.clone())
    };
    for (kind, request) in [
        (EventKind::KeyCreated, "req-1"),
        (EventKind::KeyUpdated, "req-2"),
        (EventKind::KeyRotated, "req-3"),
        (EventKind::KeyRevoked, "req-4"),
    ] {
        let e = of(kind);
        assert_eq!(e.principal(), Some(app.admin_id.as_str()), "{kind:?}");
        assert_eq!(e.credential_kind(), Some("api_key"), "{kind:?}");
        assert_eq!(e.request(), Some(request), "{kind:?}");
        assert!(!e.changed().is_empty(), "{kind:?}");
    }
    assert_eq!(
        change(of(EventKind::KeyCreated), "name"),
        ("null".into(), "\"k\"".into())
    );
    let updated = of(EventKind::KeyUpdated);
    assert_eq!(
        change(updated, "name"),
        ("\"k\"".into(), "\"renamed\"".into())
    );
    assert_eq!(
        change(updated, "networks"),
        (r#"["10.0.0.0/8"]"#.into(), r#"["10.2.0.0/16"]"#.into())
    );
    assert_eq!(updated.changed().len(), 2, "only what changed");
    assert!(
        change(of(EventKind::KeyRotated), "status")
            .1
            .contains("rotated")
    );
    assert!(
        change(of(EventKind::KeyRevoked), "status")
            .1
            .contains("revoked")
    );
    let all = format!("{events:?}");
    assert!(!all.contains(&secret), "never a secret");
    let record = app.keys.get(&id).await.unwrap();
    let hash = serde_json::to_value(record.hash).unwrap();
    assert!(!all.contains(hash.as_str().unwrap()), "never a hash");
}

/// A key store with the trait's default bulk revocation whose `fail_at`-th `revoke`
/// fails (counting from 1; 0: never).
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryKeyStore,
    revokes: std::sync::atomic::AtomicUsize,
    fail_at: std::sync::atomic::AtomicUsize,
}

mod flaky {
    use std::sync::atomic::Ordering;

    use token_core::apikey::KeyRecord;
    use token_core::apikey::admin::{KeyFilter, KeyPage, PageCursor};
    use token_core::backend::{CreditOutcome, KeyHash, KeyStore, StoreError, StoreErrorKind};

    use super::Flaky;

    impl KeyStore for Flaky {
        async fn insert(&self, r: KeyRecord) -> Result<(), StoreError> {
            self.inner.insert(r).await
        }
        async fn find_by_hash(&self, h: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
            self.inner.find_by_hash(h).await
        }
        async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
            self.inner.get(id).await
        }
        async fn update(&self, r: KeyRecord) -> Result<(), StoreError> {
            self.inner.update(r).await
        }
        async fn revoke(&self, id: &str, at: i64, why: &str) -> Result<KeyRecord, StoreError> {
            let n = self.revokes.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.fail_at.load(Ordering::SeqCst) {
                return Err(StoreError::new(StoreErrorKind::Unavailable, "down"));
            }
            self.inner.revoke(id, at, why).await
        }
        async fn list(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
            self.inner.list(tenant).await
        }
        async fn list_page(
            &self,
            filter: &KeyFilter,
            after: Option<&PageCursor>,
            limit: usize,
        ) -> Result<KeyPage, StoreError> {
            self.inner.list_page(filter, after, limit).await
        }
        async fn touch(&self, id: &str, at: i64) -> Result<(), StoreError> {
            self.inner.touch(id, at).await
        }
        async fn consume_credit(&self, id: &str, now: i64) -> Result<CreditOutcome, StoreError> {
            self.inner.consume_credit(id, now).await
        }
    }
}

#[tokio::test]
async fn a_bulk_revocation_the_store_breaks_off_answers_503_and_audits_what_it_revoked() {
    use std::sync::atomic::Ordering;
    let clock = ManualClock::new(NOW);
    let shared: Arc<dyn token_core::Clock> = Arc::new(clock.clone());
    let keys = ApiKeys::builder(Flaky::default(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::clone(&shared))
        .build();
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let router = Router::new()
        .route(
            "/api/reports",
            get(|who: Authenticated| async move { who.id().to_owned() }),
        )
        .merge(
            KeyAdmin::new(keys.clone())
                .auditor(auditor.clone())
                .router(),
        )
        .layer(
            AuthLayer::builder(Authenticator::new().api_keys(keys.clone()), policy())
                .auditor(auditor.clone())
                .build(),
        );
    let send = |request: Request<Body>| {
        let mut request = request;
        request
            .extensions_mut()
            .insert(token_tower::PeerAddr("127.0.0.1:9".parse().unwrap()));
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let router = router.clone();
        async move {
            let a = answer(router.oneshot(request).await.unwrap()).await;
            common::openapi::assert_conforms(&method, &path, &a);
            a
        }
    };
    let (admin, _) = keys
        .mint(NewKey::new("admin", "admin:keys read:reports".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let mut fleet = Vec::new();
    for i in 0..4 {
        clock.advance_secs(1);
        let spec = NewKey::new(&format!("k{i}"), "read:reports".parse().unwrap())
            .owner("app-1")
            .tenant("acme");
        let (secret, _) = keys.mint(spec).await.unwrap();
        let secret = secret.expose_secret().to_owned();
        let warm = App::request("GET", "/api/reports", &secret)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(warm).await.status, StatusCode::OK);
        fleet.push(secret);
    }
    keys.store().fail_at.store(3, Ordering::SeqCst);
    let bulk = || {
        App::request("POST", "/admin/keys/revoke", admin.expose_secret())
            .body(Body::from(json!({"owner": "app-1"}).to_string()))
            .unwrap()
    };
    let broken = send(bulk()).await;
    assert_eq!(
        (broken.status, broken.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable".into())
    );
    assert!(
        broken.problem()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2 keys were revoked")),
        "{}",
        broken.body
    );
    // The two revoked before the failure are refused on the next request.
    for (i, secret) in fleet.iter().enumerate() {
        let r = App::request("GET", "/api/reports", secret)
            .body(Body::empty())
            .unwrap();
        let a = send(r).await;
        if i < 2 {
            assert_eq!(a.code(), "key_revoked", "key {i}");
        } else {
            assert_eq!(a.status, StatusCode::OK, "key {i}");
        }
    }
    keys.store().fail_at.store(0, Ordering::SeqCst);
    let rest = send(bulk()).await;
    assert_eq!(json(&rest)["revoked"], 2, "the retry revokes the rest");
    auditor.flush();
    let events: Vec<_> = sink
        .events()
        .into_iter()
        .filter(|e| e.kind() == EventKind::KeyRevoked && e.counted().is_some())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].outcome(), token_audit::Outcome::Error);
    assert_eq!(events[0].counted(), Some(2));
    assert_eq!(events[1].outcome(), token_audit::Outcome::Allowed);
    assert_eq!(events[1].counted(), Some(2));
}

#[tokio::test]
async fn no_admin_key_raises_its_own_limits_and_plans_need_the_cross_tenant_scope() {
    let app = app().await;
    let own = format!("/admin/keys/{}", app.admin_id);
    // The platform admin (it holds admin:tenants) may not touch its own limits.
    for body in [
        json!({"rate_limit": "1000000/second"}),
        json!({"credits": {"remaining": u64::MAX}}),
    ] {
        let a = app.call("PATCH", &own, &app.admin, &body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "own_limits".into()),
            "{body}"
        );
    }
    // Nor those of its successor, rotated in with a grace period.
    let rotated = app
        .call(
            "POST",
            &format!("{own}/rotate"),
            &app.admin,
            &json!({"grace": 600}),
        )
        .await;
    let successor = json(&rotated)["id"].as_str().unwrap().to_owned();
    let a = app
        .call(
            "PATCH",
            &format!("/admin/keys/{successor}"),
            &app.admin,
            &json!({"rate_limit": "1000000/second"}),
        )
        .await;
    assert_eq!(a.code(), "own_limits");
    // A metered admin key refills nothing, its own balance least of all.
    let (metered, metered_id) = {
        let spec = NewKey::new("metered", "admin:keys read:reports".parse().unwrap())
            .tenant("acme")
            .credits(token_core::apikey::Credits::fixed(5));
        let (secret, record) = app.keys.mint(spec).await.unwrap();
        (secret.expose_secret().to_owned(), record.id)
    };
    let (_, other) = app.owned("app-1", "other", "acme").await;
    for id in [&metered_id, &other] {
        let a = app
            .call(
                "PATCH",
                &format!("/admin/keys/{id}"),
                &metered,
                &json!({"credits": {"remaining": u64::MAX}}),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "creator_metered".into())
        );
    }
    // A tenant admin hands out and sets only its own override (none): a plan is the
    // platform operator's.
    let (tenant_admin, _) = app
        .keys
        .mint(NewKey::new("acme admin", "admin:keys read:reports".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let ta = tenant_admin.expose_secret();
    let planned = app
        .call(
            "POST",
            "/admin/keys",
            ta,
            &with("rate_limit", json!("1000/second")),
        )
        .await;
    assert_eq!(
        (planned.status, planned.code()),
        (StatusCode::FORBIDDEN, "rate_limit_override".into())
    );
    let patched = app
        .call(
            "PATCH",
            &format!("/admin/keys/{other}"),
            ta,
            &json!({"rate_limit": "1000/second"}),
        )
        .await;
    assert_eq!(patched.code(), "rate_limit_override");
    let by_platform = app
        .call(
            "PATCH",
            &format!("/admin/keys/{other}"),
            &app.admin,
            &json!({"rate_limit": "1000/second"}),
        )
        .await;
    assert_eq!(by_platform.status, StatusCode::OK, "{}", by_platform.body);
}

#[tokio::test]
async fn the_idempotency_window_runs_on_the_key_services_clock_by_default() {
    let clock = ManualClock::new(NOW);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::new(clock.clone()))
        .build();
    // No `.clock(...)`: the router takes the key service's.
    let router = KeyAdmin::new(keys.clone())
        .router()
        .layer(AuthLayer::builder(Authenticator::new().api_keys(keys.clone()), policy()).build());
    let (admin, _) = keys
        .mint(NewKey::new(
            "admin",
            "admin:keys read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let post = || {
        let mut r = App::request("POST", "/admin/keys", admin.expose_secret())
            .header("idempotency-key", "nightly")
            .body(Body::from(base().to_string()))
            .unwrap();
        r.extensions_mut()
            .insert(token_tower::PeerAddr("127.0.0.1:9".parse().unwrap()));
        let router = router.clone();
        async move { answer(router.oneshot(r).await.unwrap()).await }
    };
    assert_eq!(post().await.status, StatusCode::CREATED);
    assert_eq!(
        post().await.status,
        StatusCode::OK,
        "a retry within the window"
    );
    clock.advance_secs(86_400);
    assert_eq!(post().await.status, StatusCode::CREATED, "a day later: new");
}
