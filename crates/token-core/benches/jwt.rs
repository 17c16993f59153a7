//! Mint and verify, side by side with bare `jsonwebtoken` (on the same ring provider)
//! and with the floor: what any verifier must at least do.
//!
//! Run with `cargo bench -p token-core --bench jwt`.
//!
//! - verify floor: base64url-decode the three parts, one typed JSON parse of the claims,
//!   and the raw ring signature check with a pre-parsed key.
//! - mint floor: one JSON serialization of the claims, base64url, and the raw ring
//!   signature with a pre-parsed key.

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{self as sig, KeyPair as _};
use serde::{Deserialize, Serialize};
use token_core::jose::{Algorithm, SigningKey};
use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};

/// The claims every contender parses: the RFC 9068 set our tokens carry.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    scope: String,
    tid: String,
}

fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::RS256 => {
            SigningKey::from_pem(include_str!("../tests/data/rsa2048-pkcs8.pem"), None).unwrap()
        }
        _ => SigningKey::generate(alg).unwrap(),
    }
}

/// The raw ring primitive for the floor, parsed once.
enum Raw {
    Hmac(ring::hmac::Key),
    Rsa(ring::rsa::KeyPair),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

fn raw(key: &SigningKey) -> Raw {
    let rng = ring::rand::SystemRandom::new();
    let jwk = key.to_private_jwk();
    if key.algorithm() == Algorithm::HS256 {
        Raw::Hmac(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &B64.decode(jwk.k.as_ref().unwrap().expose()).unwrap(),
        ))
    } else {
        {
            let pem = key.to_pkcs8_pem().unwrap();
            let der = pem::parse(pem.as_bytes()).unwrap().into_contents();
            match key.algorithm() {
                Algorithm::RS256 => Raw::Rsa(ring::rsa::KeyPair::from_pkcs8(&der).unwrap()),
                Algorithm::ES256 => Raw::Ec(
                    sig::EcdsaKeyPair::from_pkcs8(
                        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &der,
                        &rng,
                    )
                    .unwrap(),
                ),
                _ => Raw::Ed(sig::Ed25519KeyPair::from_pkcs8(&der).unwrap()),
            }
        }
    }
}

impl Raw {
    fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        match self {
            Raw::Hmac(k) => ring::hmac::verify(k, msg, signature).is_ok(),
            Raw::Rsa(k) => {
                let public: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                public
                    .verify(&sig::RSA_PKCS1_2048_8192_SHA256, msg, signature)
                    .is_ok()
            }
            Raw::Ec(k) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref())
                    .verify(msg, signature)
                    .is_ok()
            }
            Raw::Ed(k) => sig::UnparsedPublicKey::new(&sig::ED25519, k.public_key().as_ref())
                .verify(msg, signature)
                .is_ok(),
        }
    }

    fn sign(&self, msg: &[u8], rng: &ring::rand::SystemRandom) -> Vec<u8> {
        match self {
            Raw::Hmac(k) => ring::hmac::sign(k, msg).as_ref().to_vec(),
            Raw::Rsa(k) => {
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(&sig::RSA_PKCS1_SHA256, rng, msg, &mut out).unwrap();
                out
            }
            Raw::Ec(k) => k.sign(rng, msg).unwrap().as_ref().to_vec(),
            Raw::Ed(k) => k.sign(msg).as_ref().to_vec(),
        }
    }
}

fn floor_verify(raw: &Raw, token: &str) -> Claims {
    let mut parts = token.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let _header = B64.decode(h).unwrap();
    let payload = B64.decode(p).unwrap();
    let signature = B64.decode(s).unwrap();
    assert!(raw.verify(&token.as_bytes()[..h.len() + 1 + p.len()], &signature));
    serde_json::from_slice(&payload).unwrap()
}

fn floor_mint(
    raw: &Raw,
    header_b64: &str,
    claims: &Claims,
    rng: &ring::rand::SystemRandom,
) -> String {
    let mut token = String::with_capacity(512);
    token.push_str(header_b64);
    token.push('.');
    B64.encode_string(serde_json::to_vec(claims).unwrap(), &mut token);
    let signature = raw.sign(token.as_bytes(), rng);
    token.push('.');
    B64.encode_string(signature, &mut token);
    token
}

fn bench_alg(c: &mut Criterion, alg: Algorithm) {
    let key = key(alg);
    let keyring = Keyring::new(key.clone());
    let minter = Minter::new(keyring.clone(), "https://auth.example").max_ttl_secs(3600);
    let request = AccessTokenRequest::new("user-42", "reports-api")
        .scope("read:reports write:reports read:usage".parse().unwrap())
        .client_id("dashboard")
        .tenant("acme")
        .ttl_secs(3600);
    let token = minter.mint(&request).unwrap();
    let verifier = Verifier::new(
        keyring,
        Validation::access_tokens("https://auth.example", "reports-api"),
    );
    verifier.verify(&token).unwrap();

    let their_alg: jsonwebtoken::Algorithm = alg.name().parse().unwrap();
    let public_jwk = key.verifying_key().to_jwk_with_secret();
    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_str(&public_jwk.to_json()).unwrap())
            .unwrap();
    let encoding = match alg {
        Algorithm::HS256 => jsonwebtoken::EncodingKey::from_secret(
            &B64.decode(key.to_private_jwk().k.as_ref().unwrap().expose())
                .unwrap(),
        ),
        Algorithm::RS256 => {
            jsonwebtoken::EncodingKey::from_rsa_pem(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap()
        }
        Algorithm::ES256 => {
            jsonwebtoken::EncodingKey::from_ec_pem(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap()
        }
        _ => {
            jsonwebtoken::EncodingKey::from_ed_pem(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap()
        }
    };
    let mut validation = jsonwebtoken::Validation::new(their_alg);
    validation.set_audience(&["reports-api"]);
    validation.set_issuer(&["https://auth.example"]);
    jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).unwrap();
    let raw = raw(&key);
    floor_verify(&raw, &token);

    let mut g = c.benchmark_group(format!("verify {alg}"));
    g.bench_function("tokenkit", |b| {
        b.iter(|| verifier.verify(black_box(&token)).unwrap());
    });
    g.bench_function("jsonwebtoken::decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
        });
    });
    g.bench_function("floor", |b| {
        b.iter(|| floor_verify(&raw, black_box(&token)));
    });
    g.finish();

    let claims: Claims = floor_verify(&raw, &token);
    let header_b64 = token.split('.').next().unwrap().to_owned();
    let mut their_header = jsonwebtoken::Header::new(their_alg);
    their_header.kid = Some(key.kid().to_owned());
    their_header.typ = Some("at+jwt".to_owned());
    let rng = ring::rand::SystemRandom::new();
    let mut g = c.benchmark_group(format!("mint {alg}"));
    g.bench_function("tokenkit", |b| {
        b.iter(|| minter.mint(black_box(&request)).unwrap());
    });
    g.bench_function("jsonwebtoken::encode", |b| {
        b.iter(|| jsonwebtoken::encode(&their_header, black_box(&claims), &encoding).unwrap());
    });
    g.bench_function("floor", |b| {
        b.iter(|| floor_mint(&raw, &header_b64, black_box(&claims), &rng));
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        bench_alg(c, alg);
    }
}

criterion_group!(benches, all);
criterion_main!(benches);
