//! Every key is bound to an issuer (RFC 8725 §3.8): a partner's key never speaks for
//! us, down-scoping re-signs only our own tokens, revocations are per issuer, and a
//! token that names no subject is no principal.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use token_core::backend::{MemoryRevocationStore, RevocationStore};
use token_core::jose::{Algorithm, JwkSet, SigningKey};
use token_core::jwt::{
    AccessTokenRequest, JwtErrorKind, Keyring, MintError, Minter, Validation, Verifier,
};
use token_core::{Authenticator, ManualClock};

const NOW: i64 = 1_800_000_000;
const OURS: &str = "https://auth.example";
const PARTNER: &str = "https://partner.example";

/// Signs arbitrary claims with `key`, as a partner holding its own key can.
fn forge(key: &SigningKey, payload: &str) -> String {
    let header = format!(
        r#"{{"alg":"{}","kid":"{}","typ":"at+jwt"}}"#,
        key.algorithm(),
        key.kid()
    );
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(sig))
}

/// Claims naming `iss`, for any tenant and any scope (what an attacker would ask for).
fn claims(iss: &str, jti: &str) -> String {
    format!(
        r#"{{"iss":"{iss}","sub":"mallory","aud":"api","exp":{},"iat":{NOW},"jti":"{jti}","tid":"victim","scope":"*"}}"#,
        NOW + 300
    )
}

fn jwks(key: &SigningKey) -> Vec<u8> {
    let doc = JwkSet {
        keys: vec![key.verifying_key().to_public_jwk().unwrap()],
    };
    doc.to_json().into_bytes()
}

struct World {
    ours: SigningKey,
    partner: SigningKey,
    keyring: Keyring,
    minter: Minter,
}

/// Our keyring, with a partner's JWKS added for the partner's issuer.
fn world() -> World {
    let ours = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let partner = SigningKey::generate(Algorithm::ES256).unwrap();
    let (keyring, report) = Keyring::new(ours.clone())
        .with_jwks(&jwks(&partner), PARTNER)
        .unwrap();
    assert_eq!(report.loaded, [partner.kid()]);
    let minter = Minter::new(keyring.clone(), OURS).with_clock(clock());
    World {
        ours,
        partner,
        keyring,
        minter,
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

fn verifier(keyring: Keyring, validation: Validation) -> Verifier {
    Verifier::new(keyring, validation).with_clock(clock())
}

fn ours_only(w: &World) -> Verifier {
    verifier(w.keyring.clone(), Validation::access_tokens(OURS, "api"))
}

/// A verifier for several issuers: every key still verifies only its own issuer's.
fn any_issuer(w: &World) -> Verifier {
    let v = Validation::builder()
        .dangerous_any_issuer()
        .audience("api")
        .build()
        .unwrap();
    verifier(w.keyring.clone(), v)
}

fn kind(v: &Verifier, token: &str) -> Option<JwtErrorKind> {
    v.verify(token).err().map(|e| e.kind().clone())
}

#[test]
fn a_partner_key_claiming_our_issuer_is_refused() {
    let w = world();
    let forged = forge(&w.partner, &claims(OURS, "x"));
    for v in [ours_only(&w), any_issuer(&w)] {
        let err = v.verify(&forged).unwrap_err();
        assert_eq!(err.kind(), &JwtErrorKind::KeyIssuerMismatch);
        assert_eq!(err.code(), "key_issuer_mismatch");
        // Our own tokens still verify.
        let ours = w.minter.mint(&AccessTokenRequest::new("u", "api")).unwrap();
        assert_eq!(kind(&v, &ours), None);
    }
    // Nor for a third issuer, nor for none, where any issuer is accepted.
    let third = forge(&w.partner, &claims("https://third.example", "x"));
    assert_eq!(
        kind(&any_issuer(&w), &third),
        Some(JwtErrorKind::KeyIssuerMismatch)
    );
    let none = forge(
        &w.partner,
        &format!(r#"{{"sub":"m","aud":"api","exp":{}}}"#, NOW + 60),
    );
    assert_eq!(
        kind(&any_issuer(&w), &none),
        Some(JwtErrorKind::KeyIssuerMismatch)
    );
    // The partner's own tokens verify where any issuer is accepted, and are the wrong
    // issuer where only ours is.
    let theirs = forge(&w.partner, &claims(PARTNER, "x"));
    assert_eq!(kind(&any_issuer(&w), &theirs), None);
    assert_eq!(
        kind(&ours_only(&w), &theirs),
        Some(JwtErrorKind::WrongIssuer)
    );
}

#[test]
fn a_single_verifying_key_is_bound_to_the_issuer_it_was_added_for() {
    let w = world();
    let other = SigningKey::generate(Algorithm::ES384).unwrap();
    let keyring = w
        .keyring
        .with_verifying_key(other.verifying_key().clone(), "https://other.example")
        .unwrap();
    let v = verifier(keyring, Validation::access_tokens(OURS, "api"));
    assert_eq!(
        kind(&v, &forge(&other, &claims(OURS, "x"))),
        Some(JwtErrorKind::KeyIssuerMismatch)
    );
    // Our own key, forging as the partner: our keys are bound to our issuer.
    assert_eq!(
        kind(&v, &forge(&w.ours, &claims(PARTNER, "x"))),
        Some(JwtErrorKind::WrongIssuer)
    );
}

#[test]
fn an_unbound_key_is_an_explicit_dangerous_choice() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let keyring = Keyring::verify_only()
        .dangerous_with_unbound_key(key.verifying_key().clone())
        .unwrap();
    let v = verifier(keyring, Validation::access_tokens(OURS, "api"));
    assert_eq!(kind(&v, &forge(&key, &claims(OURS, "x"))), None);
    // The validation's issuer still applies.
    assert_eq!(
        kind(&v, &forge(&key, &claims(PARTNER, "x"))),
        Some(JwtErrorKind::WrongIssuer)
    );
}

#[test]
fn downscoping_re_signs_only_tokens_verified_by_our_own_keys() {
    let w = world();
    let scope = "read:reports".parse().unwrap();
    // A partner token, verified where several issuers are accepted: never re-signed.
    let theirs = any_issuer(&w)
        .verify(&forge(&w.partner, &claims(PARTNER, "x")))
        .unwrap();
    assert_eq!(
        w.minter.downscope(&theirs, &scope, None, None).unwrap_err(),
        MintError::ForeignParent
    );
    // A partner token claiming our iss that some verifier accepted anyway (its key
    // added unbound, a dangerous choice): still not re-signed, the key is not ours.
    let careless = Keyring::new(w.ours.clone())
        .dangerous_with_unbound_key(w.partner.verifying_key().clone())
        .unwrap();
    let forged = verifier(careless, Validation::access_tokens(OURS, "api"))
        .verify(&forge(&w.partner, &claims(OURS, "x")))
        .unwrap();
    assert_eq!(forged.claims.iss.as_deref(), Some(OURS));
    assert_eq!(
        w.minter.downscope(&forged, &scope, None, None).unwrap_err(),
        MintError::ForeignParent
    );
    // Our own token, verified by our own key (still ours while it retires): re-signed.
    let ours = w
        .minter
        .mint(&AccessTokenRequest::new("u", "api").scope("read:*".parse().unwrap()))
        .unwrap();
    let parent = ours_only(&w).verify(&ours).unwrap();
    let rotated = w
        .keyring
        .rotate(SigningKey::generate(Algorithm::EdDSA).unwrap(), NOW + 60)
        .unwrap();
    let child = w
        .minter
        .clone()
        .with_keyring(rotated.clone())
        .downscope(&parent, &scope, None, None)
        .unwrap();
    let child = verifier(rotated, Validation::access_tokens(OURS, "api"))
        .verify(&child)
        .unwrap();
    assert_eq!(child.claims.scope, scope);
    // Our own key, but a token naming another issuer: not ours to re-sign either.
    let odd = any_issuer(&w)
        .verify(&forge(&w.ours, &claims(PARTNER, "x")))
        .unwrap();
    assert_eq!(
        w.minter.downscope(&odd, &scope, None, None).unwrap_err(),
        MintError::ForeignParent
    );
}

#[test]
fn revocation_is_per_issuer() {
    let w = world();
    let store = Arc::new(MemoryRevocationStore::new());
    let v = any_issuer(&w).with_revocation(store.clone());
    let ours = w
        .minter
        .mint(&AccessTokenRequest::new("u", "api").jti("X"))
        .unwrap();
    let theirs = forge(&w.partner, &claims(PARTNER, "X"));
    assert_eq!(kind(&v, &ours), None);
    assert_eq!(kind(&v, &theirs), None);
    // Revoking (ours, X) leaves (partner, X) alone, and the other way round.
    store.revoke(OURS, "X", NOW + 900);
    assert_eq!(kind(&v, &ours), Some(JwtErrorKind::Revoked));
    assert_eq!(kind(&v, &theirs), None);
    let w2 = world();
    let store2 = Arc::new(MemoryRevocationStore::new());
    let v2 = any_issuer(&w2).with_revocation(store2.clone());
    let theirs2 = forge(&w2.partner, &claims(PARTNER, "X"));
    let ours2 = w2
        .minter
        .mint(&AccessTokenRequest::new("u", "api").jti("X"))
        .unwrap();
    store2.revoke(PARTNER, "X", NOW + 900);
    assert_eq!(kind(&v2, &theirs2), Some(JwtErrorKind::Revoked));
    assert_eq!(kind(&v2, &ours2), None);
    // A token without iss could not be revoked: refused where revocation is checked.
    let unbound = Keyring::verify_only()
        .dangerous_with_unbound_key(w.ours.verifying_key().clone())
        .unwrap();
    let v3 = verifier(
        unbound,
        Validation::builder()
            .dangerous_any_issuer()
            .audience("api")
            .build()
            .unwrap(),
    )
    .with_revocation(store);
    let no_iss = forge(
        &w.ours,
        &format!(r#"{{"sub":"u","aud":"api","exp":{},"jti":"X"}}"#, NOW + 60),
    );
    assert_eq!(kind(&v3, &no_iss), Some(JwtErrorKind::MissingClaim("iss")));
}

#[test]
fn a_token_without_a_subject_is_no_principal() {
    let w = world();
    for capacity in [0, 64] {
        let v = ours_only(&w).with_cache(capacity);
        let auth: Authenticator = Authenticator::new().jwt(v);
        let code = |payload: &str| {
            auth.authenticate_now(&forge(&w.ours, payload))
                .unwrap()
                .map(|p| p.id().to_owned())
                .map_err(|e| e.code())
        };
        let exp = NOW + 60;
        let without = format!(r#"{{"iss":"{OURS}","aud":"api","exp":{exp}}}"#);
        let empty = format!(r#"{{"iss":"{OURS}","sub":"","aud":"api","exp":{exp}}}"#);
        let named = format!(r#"{{"iss":"{OURS}","sub":"u","aud":"api","exp":{exp}}}"#);
        for _ in 0..2 {
            assert_eq!(code(&without), Err("missing_sub"));
            assert_eq!(code(&empty), Err("missing_sub"));
            assert_eq!(code(&named), Ok("u".to_owned()));
        }
    }
}
