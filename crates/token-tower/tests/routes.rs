//! The routers users mount, behind the layer in one axum app: JWKS, the OAuth
//! endpoints (RFC 6749, 7662, 7009) and key administration.

#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use common::{AUD, Answer, ISS, NOW, answer};
use http::{Request, StatusCode};
use token_audit::sink::MemorySink;
use token_audit::{Auditor, EventKind};
use token_core::apikey::{ApiKeys, KeyFormat, NewKey};
use token_core::backend::MemoryClientStore;
use token_core::backend::MemoryKeyStore;
use token_core::backend::MemoryRefreshStore;
use token_core::backend::MemoryRevocationStore;
use token_core::client::ClientCredentials;
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{Keyring, Minter, Validation, Verifier};
use token_core::refresh::{RefreshGrant, RefreshTokens};
use token_core::{Authenticator, ManualClock};
use token_scopes::{Policy, RuleSpec};
use token_tower::routes::{KeyAdmin, OAuthRoutes, jwks_router};
use token_tower::{AuthLayer, Authenticated};
use tower::ServiceExt;

struct App {
    router: Router,
    clock: ManualClock,
    keys: ApiKeys<MemoryKeyStore>,
    clients: ClientCredentials<MemoryClientStore>,
    refresh: RefreshTokens<MemoryRefreshStore>,
    sink: MemorySink,
    auditor: Auditor,
    admin_key: String,
    minter: Minter,
}

fn policy() -> Policy {
    Policy::builder()
        .rule(RuleSpec::new("GET", "/.well-known/jwks.json").public())
        .rule(RuleSpec::new("POST", "/oauth/token").public())
        .rule(RuleSpec::new("POST", "/oauth/revoke").public())
        .rule(RuleSpec::new("POST", "/oauth/introspect").require("tokens:introspect"))
        .rule(RuleSpec::new("GET", "/api/reports").require("read:reports"))
        .rule(RuleSpec::new("*", "/admin/keys").require("admin:keys"))
        .rule(RuleSpec::new("*", "/admin/keys/{*rest}").require("admin:keys"))
        .build()
        .unwrap()
}

async fn app() -> App {
    let clock = ManualClock::new(NOW);
    let shared_clock: Arc<dyn token_core::Clock> = Arc::new(clock.clone());
    let keyring = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let minter = Minter::new(keyring.clone(), ISS).with_clock(Arc::clone(&shared_clock));
    let revocations = Arc::new(MemoryRevocationStore::new());
    let verifier = Verifier::new(keyring.clone(), Validation::access_tokens(ISS, AUD))
        .with_clock(Arc::clone(&shared_clock))
        .with_revocation(revocations);
    let keys = ApiKeys::builder(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap())
        .clock(Arc::clone(&shared_clock))
        .build();
    let clients = ClientCredentials::with_options(
        MemoryClientStore::new(),
        minter.clone(),
        token_core::apikey::KeyHasher::sha256(),
        900,
        Arc::clone(&shared_clock),
    );
    let refresh = RefreshTokens::with_options(
        MemoryRefreshStore::new(),
        token_core::apikey::KeyHasher::sha256(),
        86_400,
        Arc::clone(&shared_clock),
    );
    let sink = MemorySink::new();
    let auditor = Auditor::builder()
        .sink(sink.clone())
        .rollups(token_audit::RollupConfig::default())
        .build()
        .unwrap();
    let authenticator = Authenticator::new().api_keys(keys.clone()).jwt(verifier);
    let oauth = OAuthRoutes::new(clients.clone(), minter.clone(), AUD, authenticator.clone())
        .refresh_tokens(refresh.clone())
        .auditor(auditor.clone());
    let admin = KeyAdmin::new(keys.clone())
        .auditor(auditor.clone())
        .clock(shared_clock);
    let published = keyring.clone();
    let router = Router::new()
        .route(
            "/api/reports",
            get(|who: Authenticated| async move { who.id().to_owned() }),
        )
        .merge(jwks_router(move || published.public_jwks()))
        .merge(oauth.router())
        .merge(admin.router())
        .layer(
            AuthLayer::builder(authenticator, policy())
                .auditor(auditor.clone())
                .build(),
        );
    let (admin_secret, _) = keys
        .mint(NewKey::new(
            "bootstrap",
            "admin:keys admin:tenants read:reports tokens:introspect"
                .parse()
                .unwrap(),
        ))
        .await
        .unwrap();
    App {
        router,
        clock,
        keys,
        clients,
        refresh,
        sink,
        auditor,
        admin_key: admin_secret.expose_secret().to_owned(),
        minter,
    }
}

impl App {
    async fn call(&self, request: Request<Body>) -> Answer {
        let mut request = request;
        if request
            .extensions()
            .get::<token_tower::PeerAddr>()
            .is_none()
        {
            request
                .extensions_mut()
                .insert(token_tower::PeerAddr("127.0.0.1:9".parse().unwrap()));
        }
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let answer = answer(self.router.clone().oneshot(request).await.unwrap()).await;
        // Every answer of the crate's routes is one the OpenAPI document promises.
        #[cfg(feature = "openapi")]
        common::openapi::assert_conforms(&method, &path, &answer);
        let _ = (method, path);
        answer
    }

    /// A registered OAuth client with these allowed scopes, and its secret.
    async fn client(
        &self,
        name: &str,
        scopes: &str,
    ) -> (
        token_core::backend::ClientRecord,
        token_core::apikey::ApiKeySecret,
    ) {
        self.clients
            .register(name, scopes.parse().unwrap(), None)
            .await
            .unwrap()
    }

    /// A key with these scopes (and tenant), minted directly.
    async fn key_with(&self, scopes: &str, tenant: Option<&str>) -> String {
        let mut spec = NewKey::new("k", scopes.parse().unwrap());
        if let Some(t) = tenant {
            spec = spec.tenant(t);
        }
        let (secret, _) = self.keys.mint(spec).await.unwrap();
        secret.expose_secret().to_owned()
    }

    async fn form(&self, path: &str, body: &str, basic: Option<(&str, &str)>) -> Answer {
        let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            b = b.header("authorization", format!("Basic {encoded}"));
        }
        self.call(b.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    async fn get(&self, path: &str, credential: &str) -> Answer {
        self.call(
            Request::get(path)
                .header("authorization", format!("Bearer {credential}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn json(&self, method: &str, path: &str, credential: &str, body: &str) -> Answer {
        self.call(
            Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {credential}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
    }
}

fn json(a: &Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).unwrap()
}

#[tokio::test]
async fn jwks_publishes_public_keys_with_cache_control() {
    let app = app().await;
    let a = app
        .call(
            Request::get("/.well-known/jwks.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), Some("application/jwk-set+json"));
    assert_eq!(a.header("cache-control"), Some("public, max-age=300"));
    let set = json(&a);
    assert_eq!(set["keys"].as_array().unwrap().len(), 1);
    assert_eq!(set["keys"][0]["kty"], "OKP");
    assert!(set["keys"][0].get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn client_credentials_by_basic_or_form_with_rfc_6749_errors() {
    let app = app().await;
    let (client, secret) = app
        .clients
        .register(
            "reporting",
            "read:reports write:reports".parse().unwrap(),
            None,
        )
        .await
        .unwrap();
    let id = client.client_id.as_str();
    let s = secret.expose_secret();
    let by_basic = app
        .form(
            "/oauth/token",
            "grant_type=client_credentials&scope=read:reports",
            Some((id, s)),
        )
        .await;
    assert_eq!(by_basic.status, StatusCode::OK);
    assert_eq!(by_basic.header("cache-control"), Some("no-store"));
    let body = json(&by_basic);
    assert_eq!(
        (body["token_type"].as_str(), body["scope"].as_str()),
        (Some("Bearer"), Some("read:reports"))
    );
    let token = body["access_token"].as_str().unwrap();
    let api = app.get("/api/reports", token).await;
    assert_eq!((api.status, api.body.as_str()), (StatusCode::OK, id));

    let by_form = app
        .form(
            "/oauth/token",
            &format!("grant_type=client_credentials&client_id={id}&client_secret={s}"),
            None,
        )
        .await;
    assert_eq!(json(&by_form)["scope"], "read:reports write:reports");

    let wrong = app
        .form(
            "/oauth/token",
            "grant_type=client_credentials",
            Some((id, "tk_cs_wrong")),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&wrong)["error"], "invalid_client");
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert!(!wrong.body.contains(s));

    let both = app
        .form(
            "/oauth/token",
            &format!("grant_type=client_credentials&client_secret={s}"),
            Some((id, s)),
        )
        .await;
    assert_eq!(json(&both)["error"], "invalid_request");
    for (body, error) in [
        ("grant_type=password", "unsupported_grant_type"),
        (
            "grant_type=client_credentials&scope=admin:keys",
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&grant_type=x",
            "invalid_request",
        ),
    ] {
        let a = app.form("/oauth/token", body, Some((id, s))).await;
        assert_eq!(json(&a)["error"], error, "{body}");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = app().await;
    let (client, secret) = app.client("web", "read:reports").await;
    let id = client.client_id.as_str();
    let s = secret.expose_secret();
    let (first, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-7",
            id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let body = |t: &str| format!("grant_type=refresh_token&refresh_token={t}");
    let ok = app
        .form("/oauth/token", &body(first.expose_secret()), Some((id, s)))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let fresh = json(&ok);
    let second = fresh["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first.expose_secret());
    let api = app
        .get("/api/reports", fresh["access_token"].as_str().unwrap())
        .await;
    assert_eq!((api.status, api.body.as_str()), (StatusCode::OK, "user-7"));

    // The old token again: reuse. The whole family dies, the new token included.
    let reuse = app
        .form("/oauth/token", &body(first.expose_secret()), Some((id, s)))
        .await;
    assert_eq!(json(&reuse)["error"], "invalid_grant");
    let after = app
        .form("/oauth/token", &body(&second), Some((id, s)))
        .await;
    assert_eq!(json(&after)["error"], "invalid_grant");
    app.auditor.flush();
    assert!(
        app.sink
            .events()
            .iter()
            .any(|e| e.kind() == EventKind::RefreshReuseDetected),
        "reuse is audited"
    );
    // Another client cannot redeem this client's tokens.
    let (other, other_secret) = app.client("other", "read:reports").await;
    let (third, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-7",
            id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let stolen = app
        .form(
            "/oauth/token",
            &body(third.expose_secret()),
            Some((&other.client_id, other_secret.expose_secret())),
        )
        .await;
    assert_eq!(json(&stolen)["error"], "invalid_grant");
}

#[tokio::test]
async fn introspection_needs_its_scope_and_answers_per_rfc_7662() {
    let app = app().await;
    let (reader, _) = app
        .keys
        .mint(NewKey::new("reader", "read:reports".parse().unwrap()))
        .await
        .unwrap();
    let reader = reader.expose_secret();
    let call = |caller: &str, token: &str| {
        let request = Request::post("/oauth/introspect")
            .header("authorization", format!("Bearer {caller}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        app.call(request)
    };
    let denied = call(reader, reader).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let active = json(&call(&app.admin_key, reader).await);
    assert_eq!(active["active"], true);
    assert_eq!(active["token_type"], "api_key");
    assert_eq!(active["scope"], "read:reports");
    let garbage = json(&call(&app.admin_key, "nonsense").await);
    assert_eq!(garbage, serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn revocation_endpoint_revokes_own_tokens_and_answers_200_for_unknown_ones() {
    let app = app().await;
    let (client, secret) = app.client("svc", "read:reports").await;
    let id = client.client_id.as_str();
    let s = secret.expose_secret();
    let issued = app
        .form(
            "/oauth/token",
            "grant_type=client_credentials",
            Some((id, s)),
        )
        .await;
    let token = json(&issued)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/reports", &token).await.status, StatusCode::OK);

    let unknown = app
        .form("/oauth/revoke", "token=whatever", Some((id, s)))
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    let revoked = app
        .form("/oauth/revoke", &format!("token={token}"), Some((id, s)))
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after = app.get("/api/reports", &token).await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked".into())
    );
    let unauthenticated = app.form("/oauth/revoke", "token=x", None).await;
    assert_eq!(json(&unauthenticated)["error"], "invalid_client");
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one administrator's session, in order
async fn key_administration_end_to_end() {
    let app = app().await;
    let admin = app.admin_key.clone();
    let created = app
        .json(
            "POST",
            "/admin/keys",
            &admin,
            r#"{"name": "dashboard", "scopes": ["read:reports"], "tenant": "acme", "ttl": "30d"}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let c = json(&created);
    let id = c["id"].as_str().unwrap().to_owned();
    let secret = c["secret"].as_str().unwrap().to_owned();
    assert_eq!(c["tenant"], "acme");
    assert_eq!(c["expires_at"], NOW + 30 * 86_400);
    assert_eq!(
        app.get("/api/reports", &secret).await.status,
        StatusCode::OK
    );

    let listed = app.get("/admin/keys", &admin).await;
    assert!(!listed.body.contains(&secret) && !listed.body.contains("\"hash\""));
    assert_eq!(json(&listed)["keys"].as_array().unwrap().len(), 2);
    let one = json(&app.get(&format!("/admin/keys/{id}"), &admin).await);
    assert_eq!(one["name"], "dashboard");

    // Least privilege: a key cannot hold what its creator does not.
    let wider = app
        .json(
            "POST",
            "/admin/keys",
            &admin,
            r#"{"name": "x", "scopes": "write:reports"}"#,
        )
        .await;
    assert_eq!(
        (wider.status, wider.code()),
        (StatusCode::FORBIDDEN, "scope_widening".into())
    );
    let bad = app
        .json("POST", "/admin/keys", &admin, r#"{"name": "x"}"#)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Updates narrow only.
    let widening = app
        .json(
            "PATCH",
            &format!("/admin/keys/{id}"),
            &admin,
            r#"{"scopes": "read:reports admin:keys"}"#,
        )
        .await;
    assert_eq!(widening.status, StatusCode::FORBIDDEN);
    let renamed = app
        .json(
            "PATCH",
            &format!("/admin/keys/{id}"),
            &admin,
            r#"{"name": "renamed"}"#,
        )
        .await;
    assert_eq!(json(&renamed)["name"], "renamed");

    // Rotation with grace: both work, then only the successor.
    let rotated = app
        .json(
            "POST",
            &format!("/admin/keys/{id}/rotate"),
            &admin,
            r#"{"grace": 60}"#,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED);
    let r = json(&rotated);
    let successor = r["secret"].as_str().unwrap().to_owned();
    assert_eq!(r["rotated"], id.as_str());
    assert_eq!(
        app.get("/api/reports", &secret).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/reports", &successor).await.status,
        StatusCode::OK
    );

    // Revocation takes effect on the next request.
    let new_id = r["id"].as_str().unwrap().to_owned();
    let deleted = app
        .json("DELETE", &format!("/admin/keys/{new_id}"), &admin, "")
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let after = app.get("/api/reports", &successor).await;
    assert_eq!(after.code(), "key_revoked");

    // Usage from the audit roll-ups.
    app.auditor.flush();
    let usage = json(&app.get(&format!("/admin/keys/{id}/usage"), &admin).await);
    let minutes = usage["minutes"].as_array().unwrap();
    assert!(!minutes.is_empty(), "{usage}");

    // A tenant-bound admin sees only its tenant; others' keys are not found.
    let (tenant_admin, _) = app
        .keys
        .mint(
            NewKey::new("globex admin", "admin:keys read:reports".parse().unwrap())
                .tenant("globex"),
        )
        .await
        .unwrap();
    let ta = tenant_admin.expose_secret();
    assert_eq!(
        app.get(&format!("/admin/keys/{id}"), ta).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        json(&app.get("/admin/keys", ta).await)["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let cross = app
        .json(
            "POST",
            "/admin/keys",
            ta,
            r#"{"name": "x", "scopes": "read:reports", "tenant": "acme"}"#,
        )
        .await;
    assert_eq!(cross.code(), "tenant_mismatch");
    // Without the admin scope: refused by the policy.
    assert_eq!(
        app.get("/admin/keys", &secret).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_lesser_admin_cannot_take_over_or_lock_out_a_greater_key() {
    let app = app().await;
    let lesser = app.key_with("admin:keys", None).await;
    let listed = json(&app.get("/admin/keys", &lesser).await);
    let bootstrap = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "bootstrap")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path, body) in [
        ("POST", format!("/admin/keys/{bootstrap}/rotate"), "{}"),
        (
            "PATCH",
            format!("/admin/keys/{bootstrap}"),
            r#"{"name": "mine"}"#,
        ),
        ("DELETE", format!("/admin/keys/{bootstrap}"), ""),
    ] {
        let a = app.json(method, &path, &lesser, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "scope_widening".into()),
            "{method} {path}"
        );
        assert!(!a.body.contains("tk_live_"), "no secret handed out");
    }
    assert_eq!(
        app.get("/api/reports", &app.admin_key).await.status,
        StatusCode::OK,
        "still works"
    );
}

#[tokio::test]
async fn only_the_cross_tenant_scope_mints_keys_for_other_tenants() {
    let app = app().await;
    let no_tenant = app.key_with("admin:keys read:reports", None).await;
    let a = app
        .json(
            "POST",
            "/admin/keys",
            &no_tenant,
            r#"{"name": "x", "scopes": "read:reports", "tenant": "globex"}"#,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "tenant_mismatch".into())
    );
    let own = app
        .json(
            "POST",
            "/admin/keys",
            &no_tenant,
            r#"{"name": "x", "scopes": "read:reports"}"#,
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED);
    let cross = app
        .json(
            "POST",
            "/admin/keys",
            &app.admin_key,
            r#"{"name": "x", "scopes": "read:reports", "tenant": "globex"}"#,
        )
        .await;
    assert_eq!(cross.status, StatusCode::CREATED, "admin:tenants may");
}

#[tokio::test]
async fn expiry_changes_are_bounded_and_expired_keys_stay_expired() {
    let app = app().await;
    let created = app
        .json(
            "POST",
            "/admin/keys",
            &app.admin_key,
            r#"{"name": "t", "scopes": "read:reports", "ttl": 60}"#,
        )
        .await;
    let id = json(&created)["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/keys/{id}");
    let never = app
        .json("PATCH", &path, &app.admin_key, r#"{"expires_at": null}"#)
        .await;
    assert_eq!(
        (never.status, never.code()),
        (StatusCode::FORBIDDEN, "expiry_extension".into()),
        "an expiry cannot be lifted"
    );
    let far = format!(r#"{{"expires_at": {}}}"#, NOW + 11 * 365 * 86_400);
    assert_eq!(
        app.json("PATCH", &path, &app.admin_key, &far).await.status,
        StatusCode::BAD_REQUEST
    );
    let past = format!(r#"{{"expires_at": {}}}"#, NOW - 1);
    assert_eq!(
        app.json("PATCH", &path, &app.admin_key, &past).await.status,
        StatusCode::BAD_REQUEST
    );
    let sooner = format!(r#"{{"expires_at": {}}}"#, NOW + 30);
    let ok = app.json("PATCH", &path, &app.admin_key, &sooner).await;
    assert_eq!(json(&ok)["expires_at"], NOW + 30);
    app.clock.advance_secs(31);
    let revive = format!(r#"{{"expires_at": {}}}"#, NOW + 3600);
    let expired = app.json("PATCH", &path, &app.admin_key, &revive).await;
    assert_eq!(
        (expired.status, expired.code()),
        (StatusCode::CONFLICT, "key_expired".into())
    );
}

#[tokio::test]
async fn introspection_is_tenant_scoped() {
    let app = app().await;
    let globex_key = app.key_with("read:reports", Some("globex")).await;
    let acme_introspector = app.key_with("tokens:introspect", Some("acme")).await;
    let call = |caller: String, token: String| {
        let request = Request::post("/oauth/introspect")
            .header("authorization", format!("Bearer {caller}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        app.call(request)
    };
    let hidden = json(&call(acme_introspector.clone(), globex_key.clone()).await);
    assert_eq!(hidden, serde_json::json!({ "active": false }));
    let acme_key = app.key_with("read:reports", Some("acme")).await;
    assert_eq!(
        json(&call(acme_introspector, acme_key).await)["active"],
        true
    );
    assert_eq!(
        json(&call(app.admin_key.clone(), globex_key).await)["active"],
        true,
        "admin:tenants sees all"
    );
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_refresh_tokens() {
    let app = app().await;
    let (victim, _) = app.client("victim", "read:reports").await;
    let (attacker, attacker_secret) = app.client("attacker", "read:reports").await;
    let (token, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-1",
            &victim.client_id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let a = app
        .form(
            "/oauth/revoke",
            &format!("token={}", token.expose_secret()),
            Some((&attacker.client_id, attacker_secret.expose_secret())),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "the same answer as for an unknown token"
    );
    assert!(
        app.refresh
            .redeem(token.expose_secret(), &victim.client_id)
            .await
            .is_ok(),
        "the victim's token still works"
    );
}

#[tokio::test]
async fn client_secrets_over_plain_http_are_refused() {
    let app = app().await;
    let (client, secret) = app.client("c", "read:reports").await;
    let remote = |body: String, basic: bool| {
        let mut b = Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded");
        if basic {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                client.client_id,
                secret.expose_secret()
            ));
            b = b.header("authorization", format!("Basic {encoded}"));
        }
        let mut request = b.body(Body::from(body)).unwrap();
        request
            .extensions_mut()
            .insert(token_tower::PeerAddr("198.51.100.7:4000".parse().unwrap()));
        app.call(request)
    };
    let by_basic = remote("grant_type=client_credentials".into(), true).await;
    assert_eq!(
        (by_basic.status, by_basic.code()),
        (StatusCode::BAD_REQUEST, "insecure_transport".into())
    );
    let by_form = remote(
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client.client_id,
            secret.expose_secret()
        ),
        false,
    )
    .await;
    assert_eq!(by_form.status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&by_form)["error"], "invalid_request");
    assert!(!by_form.body.contains("access_token"));
}

#[tokio::test]
async fn the_jwks_route_never_serves_private_or_symmetric_keys() {
    let private = Keyring::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let secret = SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    let leaky = move || token_core::jose::JwkSet {
        keys: vec![
            private.signing_key().unwrap().to_private_jwk(),
            secret.to_private_jwk(),
        ],
    };
    let router: Router = jwks_router(leaky);
    let a = answer(
        router
            .oneshot(
                Request::get("/.well-known/jwks.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json(&a)["keys"].as_array().unwrap().len(), 0, "{}", a.body);
}

/// The `auth.failed` events recorded for `endpoint`, as (reason, client) pairs.
fn refusals(app: &App, endpoint: &str) -> Vec<(String, Option<String>)> {
    app.auditor.flush();
    app.sink
        .events()
        .iter()
        .filter(|e| e.kind() == EventKind::AuthFailed && e.target_id() == Some(endpoint))
        .map(|e| {
            (
                e.reason_code().unwrap_or_default().to_owned(),
                e.client().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_refused_refresh_leaves_the_token_usable_and_raises_no_alarm() {
    let app = app().await;
    let (client, secret) = app.client("web", "read:reports write:reports").await;
    let id = client.client_id.as_str();
    let s = secret.expose_secret();
    let (token, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-7",
            id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let t = token.expose_secret();
    for scope in ["write:reports", "admin:keys", "Bad%20Scope"] {
        let refused = app
            .form(
                "/oauth/token",
                &format!("grant_type=refresh_token&refresh_token={t}&scope={scope}"),
                Some((id, s)),
            )
            .await;
        assert_eq!(json(&refused)["error"], "invalid_scope", "{scope}");
    }
    let ok = app
        .form(
            "/oauth/token",
            &format!("grant_type=refresh_token&refresh_token={t}&scope=read:reports"),
            Some((id, s)),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "the token survived: {}", ok.body);
    let next = json(&ok)["refresh_token"].as_str().unwrap().to_owned();
    let again = app
        .form(
            "/oauth/token",
            &format!("grant_type=refresh_token&refresh_token={next}"),
            Some((id, s)),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "its family lives: {}",
        again.body
    );
    app.auditor.flush();
    assert!(
        !app.sink
            .events()
            .iter()
            .any(|e| e.kind() == EventKind::RefreshReuseDetected),
        "no false reuse alarm"
    );
    assert!(
        refusals(&app, "refresh_token")
            .iter()
            .any(|(reason, _)| reason == "invalid_scope"),
        "the refusal is audited"
    );
}

#[tokio::test]
async fn failed_client_authentication_and_bad_grants_are_audited() {
    let app = app().await;
    let (client, secret) = app.client("web", "read:reports").await;
    let id = client.client_id.as_str();
    let (token, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-7",
            id,
            "read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let t = token.expose_secret();
    let grant = format!("grant_type=refresh_token&refresh_token={t}");
    let wrong = app.form("/oauth/token", &grant, Some((id, "wrong"))).await;
    assert_eq!(json(&wrong)["error"], "invalid_client");
    let anonymous = app.form("/oauth/token", &grant, None).await;
    assert_eq!(json(&anonymous)["error"], "invalid_client");
    // Not a reuse, still an invalid grant: unknown, and another client's.
    let unknown = app
        .form(
            "/oauth/token",
            "grant_type=refresh_token&refresh_token=tk_rt_nonsense",
            Some((id, secret.expose_secret())),
        )
        .await;
    assert_eq!(json(&unknown)["error"], "invalid_grant");
    let (other, other_secret) = app.client("other", "read:reports").await;
    let stolen = app
        .form(
            "/oauth/token",
            &grant,
            Some((&other.client_id, other_secret.expose_secret())),
        )
        .await;
    assert_eq!(json(&stolen)["error"], "invalid_grant");
    let on_refresh = refusals(&app, "refresh_token");
    for expected in [
        ("invalid_client", Some(id)),
        ("invalid_client", None),
        ("refresh_token_invalid", Some(id)),
        ("refresh_token_invalid", Some(other.client_id.as_str())),
    ] {
        assert!(
            on_refresh
                .iter()
                .any(|(r, c)| (r.as_str(), c.as_deref()) == expected),
            "{expected:?} in {on_refresh:?}"
        );
    }
    assert!(
        !format!("{:?}", app.sink.events()).contains(t),
        "no secret in the trail"
    );

    let revoke = app
        .form("/oauth/revoke", &format!("token={t}"), Some((id, "wrong")))
        .await;
    assert_eq!(json(&revoke)["error"], "invalid_client");
    let revoke_anonymous = app.form("/oauth/revoke", "token=x", None).await;
    assert_eq!(json(&revoke_anonymous)["error"], "invalid_client");
    let on_revoke = refusals(&app, "revoke");
    assert!(on_revoke.contains(&("invalid_client".into(), Some(id.into()))));
    assert!(on_revoke.contains(&("invalid_client".into(), None)));
}

#[tokio::test]
async fn an_unauthenticated_patch_learns_nothing_from_the_body_parser() {
    let keys = ApiKeys::new(MemoryKeyStore::new(), KeyFormat::new("tk_live").unwrap());
    // No layer in front: the route itself must authenticate before parsing.
    let router: Router = KeyAdmin::new(keys).router();
    for (method, path) in [
        ("PATCH", "/admin/keys/key_x"),
        ("POST", "/admin/keys/key_x/rotate"),
        ("POST", "/admin/keys"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"nmae": 5, "#))
            .unwrap();
        let a = answer(router.clone().oneshot(request).await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        for serde_text in ["EOF", "line", "column", "nmae", "unknown field"] {
            assert!(!a.body.contains(serde_text), "{method} {path}: {}", a.body);
        }
    }
}

#[tokio::test]
async fn a_wildcard_admin_stays_in_its_tenant() {
    let app = app().await;
    let (_, globex_key) = app
        .keys
        .mint(NewKey::new("g", "read:reports".parse().unwrap()).tenant("globex"))
        .await
        .unwrap();
    for wide in ["admin:* read:reports tokens:introspect", "*"] {
        let tenant_admin = app.key_with(wide, Some("acme")).await;
        let other = app
            .get(&format!("/admin/keys/{}", globex_key.id), &tenant_admin)
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{wide}");
        let listed = json(&app.get("/admin/keys", &tenant_admin).await);
        assert!(
            listed["keys"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["tenant"] == "acme"),
            "{wide}: {listed}"
        );
        let cross = app
            .json(
                "POST",
                "/admin/keys",
                &tenant_admin,
                r#"{"name": "x", "scopes": "read:reports", "tenant": "globex"}"#,
            )
            .await;
        assert_eq!(cross.code(), "tenant_mismatch", "{wide}");
        // Nor can it mint the exact scope its wildcard seems to cover.
        let escalate = app
            .json(
                "POST",
                "/admin/keys",
                &tenant_admin,
                r#"{"name": "x", "scopes": "admin:keys admin:tenants"}"#,
            )
            .await;
        assert_eq!(
            (escalate.status, escalate.code()),
            (StatusCode::FORBIDDEN, "scope_widening".into()),
            "{wide}"
        );
        let introspected = app
            .call(
                Request::post("/oauth/introspect")
                    .header("authorization", format!("Bearer {tenant_admin}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from("token=x"))
                    .unwrap(),
            )
            .await;
        assert_eq!(json(&introspected)["active"], false, "{wide}");
    }
    // A narrowing PATCH cannot turn a wildcard key into a cross-tenant one either.
    let (_, wild) = app
        .keys
        .mint(NewKey::new("w", "admin:*".parse().unwrap()).tenant("acme"))
        .await
        .unwrap();
    let acme_admin = app.key_with("admin:*", Some("acme")).await;
    let narrowed = app
        .json(
            "PATCH",
            &format!("/admin/keys/{}", wild.id),
            &acme_admin,
            r#"{"scopes": "admin:tenants"}"#,
        )
        .await;
    assert_eq!(
        (narrowed.status, narrowed.code()),
        (StatusCode::FORBIDDEN, "scope_widening".into())
    );
}

#[tokio::test]
async fn introspection_across_tenants_needs_the_exact_scope() {
    let app = app().await;
    let globex_key = app.key_with("read:reports", Some("globex")).await;
    let wide = app.key_with("*", Some("acme")).await;
    let exact = app
        .key_with("tokens:introspect admin:tenants", Some("acme"))
        .await;
    let call = |caller: String| {
        app.call(
            Request::post("/oauth/introspect")
                .header("authorization", format!("Bearer {caller}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={globex_key}")))
                .unwrap(),
        )
    };
    assert_eq!(json(&call(wide).await)["active"], false);
    assert_eq!(json(&call(exact).await)["active"], true);
}

#[tokio::test]
async fn a_short_lived_admin_token_mints_keys_that_die_with_it() {
    let app = app().await;
    let token = app
        .minter
        .mint(
            &token_core::jwt::AccessTokenRequest::new("ops-1", AUD)
                .scope("admin:keys read:reports".parse().unwrap())
                .ttl_secs(900),
        )
        .unwrap();
    let inherited = app
        .json(
            "POST",
            "/admin/keys",
            &token,
            r#"{"name": "k", "scopes": "read:reports"}"#,
        )
        .await;
    assert_eq!(inherited.status, StatusCode::CREATED, "{}", inherited.body);
    assert_eq!(json(&inherited)["expires_at"], NOW + 900);
    for ttl in ["\"30d\"", "901"] {
        let longer = app
            .json(
                "POST",
                "/admin/keys",
                &token,
                &format!(r#"{{"name": "k", "scopes": "read:reports", "ttl": {ttl}}}"#),
            )
            .await;
        assert_eq!(
            (longer.status, longer.code()),
            (StatusCode::FORBIDDEN, "outlives_creator".into()),
            "{ttl}"
        );
        assert!(
            longer.problem()["detail"]
                .as_str()
                .unwrap()
                .contains("outlive its creator")
        );
    }
    // PATCH shortens, never extends.
    let id = json(&inherited)["id"].as_str().unwrap().to_owned();
    let later = format!(r#"{{"expires_at": {}}}"#, NOW + 901);
    let extended = app
        .json(
            "PATCH",
            &format!("/admin/keys/{id}"),
            &app.admin_key,
            &later,
        )
        .await;
    assert_eq!(
        (extended.status, extended.code()),
        (StatusCode::FORBIDDEN, "expiry_extension".into())
    );
    let sooner = format!(r#"{{"expires_at": {}}}"#, NOW + 100);
    let shortened = app
        .json(
            "PATCH",
            &format!("/admin/keys/{id}"),
            &app.admin_key,
            &sooner,
        )
        .await;
    assert_eq!(json(&shortened)["expires_at"], NOW + 100);
}

#[tokio::test]
async fn a_restricted_or_limited_admin_key_mints_keys_no_freer_than_itself() {
    let app = app().await;
    let scopes = || "admin:keys read:reports".parse().unwrap();
    let (internal, _) = app
        .keys
        .mint(
            NewKey::new("internal admin", scopes())
                .networks(vec!["127.0.0.0/8".parse().unwrap()])
                .rate_limit("10/minute"),
        )
        .await
        .unwrap();
    let internal = internal.expose_secret();
    let created = app
        .json(
            "POST",
            "/admin/keys",
            internal,
            r#"{"name": "k", "scopes": "read:reports"}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let c = json(&created);
    assert_eq!(c["networks"], serde_json::json!(["127.0.0.0/8"]));
    assert_eq!(c["rate_limit"], "10/minute");
    let narrower = app
        .json(
            "POST",
            "/admin/keys",
            internal,
            r#"{"name": "k", "scopes": "read:reports", "networks": ["127.0.0.1"]}"#,
        )
        .await;
    assert_eq!(
        json(&narrower)["networks"],
        serde_json::json!(["127.0.0.1/32"])
    );
    for networks in [r#"["0.0.0.0/0"]"#, r#"["10.0.0.0/8"]"#] {
        let wider = app
            .json(
                "POST",
                "/admin/keys",
                internal,
                &format!(r#"{{"name": "k", "scopes": "read:reports", "networks": {networks}}}"#),
            )
            .await;
        assert_eq!(
            (wider.status, wider.code()),
            (StatusCode::FORBIDDEN, "network_widening".into()),
            "{networks}"
        );
    }
    let (metered, _) = app
        .keys
        .mint(NewKey::new("metered admin", scopes()).credits(token_core::apikey::Credits::fixed(5)))
        .await
        .unwrap();
    let refused = app
        .json(
            "POST",
            "/admin/keys",
            metered.expose_secret(),
            r#"{"name": "k", "scopes": "read:reports"}"#,
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "creator_metered".into())
    );
}

#[tokio::test]
async fn revoking_an_admin_key_revokes_the_keys_it_created() {
    let app = app().await;
    let (creator, creator_record) = app
        .keys
        .mint(NewKey::new(
            "delegate",
            "admin:keys read:reports".parse().unwrap(),
        ))
        .await
        .unwrap();
    let child = json(
        &app.json(
            "POST",
            "/admin/keys",
            creator.expose_secret(),
            r#"{"name": "child", "scopes": "read:reports"}"#,
        )
        .await,
    );
    let child_secret = child["secret"].as_str().unwrap().to_owned();
    let child_id = child["id"].as_str().unwrap().to_owned();
    assert_eq!(child["owner"], creator_record.id.as_str());
    let other = app.key_with("read:reports", None).await;
    let deleted = app
        .json(
            "DELETE",
            &format!("/admin/keys/{}", creator_record.id),
            &app.admin_key,
            "",
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(
        json(&deleted)["revoked_with"],
        serde_json::json!([child_id.clone()])
    );
    assert_eq!(
        app.get("/api/reports", &child_secret).await.code(),
        "key_revoked"
    );
    assert_eq!(app.get("/api/reports", &other).await.status, StatusCode::OK);
    app.auditor.flush();
    assert!(
        app.sink
            .events()
            .iter()
            .any(|e| e.kind() == EventKind::KeyRevoked && e.target_id() == Some(child_id.as_str())),
        "the cascade is audited"
    );
    // Events about a key name that key, and its actor as the principal, even when the
    // actor is itself an API key.
    let events = app.sink.events();
    let created = events
        .iter()
        .find(|e| e.kind() == EventKind::KeyCreated && e.key() == Some(child_id.as_str()))
        .expect("key.created names the key created, not its creator's key");
    assert_eq!(created.principal(), Some(creator_record.id.as_str()));
    let revoked = events
        .iter()
        .find(|e| e.kind() == EventKind::KeyRevoked && e.target_id() == Some(child_id.as_str()))
        .unwrap();
    assert_eq!(revoked.key(), Some(child_id.as_str()));
}

#[tokio::test]
async fn oauth_clients_never_reach_the_cross_tenant_scope_through_a_wildcard() {
    let app = app().await;
    let (wild, wild_secret) = app.client("tenant-admin", "admin:*").await;
    let (exact, exact_secret) = app.client("operator", "admin:keys admin:tenants").await;
    let wild = (wild.client_id.as_str(), wild_secret.expose_secret());
    let exact = (exact.client_id.as_str(), exact_secret.expose_secret());
    // The `scope` a client-credentials grant of `client` answers with, or its error.
    let granted = async |client: (&str, &str), scope: &str| {
        let body = format!("grant_type=client_credentials&scope={scope}");
        let answer = json(&app.form("/oauth/token", &body, Some(client)).await);
        let field = if answer["error"].is_null() {
            "scope"
        } else {
            "error"
        };
        answer[field].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(granted(wild, "admin:tenants").await, "invalid_scope");
    assert_eq!(
        granted(wild, "admin:tenants%20admin:keys").await,
        "admin:keys"
    );
    assert_eq!(granted(exact, "admin:tenants").await, "admin:tenants");

    // A refresh family granted `admin:*` narrows to `admin:tenants` no more than a
    // client does.
    let (token, _) = app
        .refresh
        .issue(RefreshGrant::new(
            "user-7",
            wild.0,
            "admin:*".parse().unwrap(),
        ))
        .await
        .unwrap();
    let narrowed = app
        .form(
            "/oauth/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&scope=admin:tenants",
                token.expose_secret()
            ),
            Some(wild),
        )
        .await;
    assert_eq!(
        json(&narrowed)["error"],
        "invalid_scope",
        "{}",
        narrowed.body
    );
}
