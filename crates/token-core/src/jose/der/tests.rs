//! DER codec tests: round trips against ring and RFC 8410, and malformed input.

use super::*;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

/// A DER sample and a predicate telling whether the matching parser accepts input.
type Case = (Vec<u8>, fn(&[u8]) -> bool);

const RSA_PKCS8: &str = include_str!("../../../tests/data/rsa2048-pkcs8.pem");
const RSA_PKCS1: &str = include_str!("../../../tests/data/rsa2048-pkcs1.pem");
const RSA_SPKI: &str = include_str!("../../../tests/data/rsa2048-spki.pem");
/// RFC 8410 section 10 examples: an independent Ed25519 oracle.
const RFC8410_SPKI: &str = "-----BEGIN PUBLIC KEY-----\n\
    MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
const RFC8410_V1: &str = "-----BEGIN PRIVATE KEY-----\n\
    MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
const RFC8410_V2: &str = "-----BEGIN PRIVATE KEY-----\n\
    MHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
    oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\n\
    Z9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PRIVATE KEY-----\n";

fn pem_der(text: &str) -> Vec<u8> {
    super::super::pem::decode(text)
        .expect("valid PEM fixture")
        .1
}

/// Decodes OID content bytes to dotted notation (oracle for the constants).
fn dotted(oid: &[u8]) -> String {
    let (mut arcs, mut acc) = (Vec::new(), 0u64);
    for b in oid {
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let first = arcs.remove(0);
    let (a, b) = if first < 80 {
        (first / 40, first % 40)
    } else {
        (2, first - 80)
    };
    let arcs: Vec<String> = [a, b]
        .into_iter()
        .chain(arcs)
        .map(|x| x.to_string())
        .collect();
    arcs.join(".")
}

/// Builds a SEC1 `ECPrivateKey` with `[0]` parameters and `[1]` public key.
fn sec1(curve: Curve, d: &[u8], point: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    nested(&mut out, SEQUENCE, |o| {
        uint(o, &[1]);
        tlv(o, OCTET_STRING, d);
        nested(o, CTX_CONS_0, |o| tlv(o, OID, curve.oid()));
        nested(o, CTX_CONS_1, |o| bit_string(o, BIT_STRING, point));
    });
    out
}

#[test]
fn oids_are_exact() {
    assert_eq!(dotted(OID_RSA), "1.2.840.113549.1.1.1");
    assert_eq!(dotted(OID_EC), "1.2.840.10045.2.1");
    assert_eq!(dotted(OID_P256), "1.2.840.10045.3.1.7");
    assert_eq!(dotted(OID_P384), "1.3.132.0.34");
    assert_eq!(dotted(OID_ED25519), "1.3.101.112");
}

#[test]
fn integer_and_length_encoding() {
    for (value, der) in [
        (&[][..], &[2, 1, 0][..]),
        (&[0, 0, 1], &[2, 1, 1]),
        (&[0x80], &[2, 2, 0, 0x80]),
    ] {
        let mut out = Vec::new();
        uint(&mut out, value);
        assert_eq!(out, der);
    }
    for (len, head) in [
        (0x7F, &[4, 0x7F][..]),
        (0x80, &[4, 0x81, 0x80]),
        (300, &[4, 0x82, 1, 0x2C]),
    ] {
        let (content, mut out) = (vec![0xAB; len], Vec::new());
        nested(&mut out, OCTET_STRING, |o| o.extend_from_slice(&content));
        assert_eq!(out.get(..head.len()), Some(head));
        assert_eq!(Reader(&out).expect(OCTET_STRING, "t"), Ok(&content[..]));
    }
    // Indefinite, non-minimal (x2), over-long length-of-length, high tag, truncated content.
    let bad: [&[u8]; 6] = [
        &[0x30, 0x80, 0, 0],
        &[4, 0x81, 5, 1, 2, 3, 4, 5],
        &[4, 0x82, 0, 0x80],
        &[4, 0x85, 0, 0, 0, 0, 1, 0],
        &[0x1F, 1, 0],
        &[4, 2, 0],
    ];
    for der in bad {
        assert!(Reader(der).any("t").is_err(), "{der:?}");
    }
    // Negative, empty, zero, wrong tag.
    for der in [&[2, 1, 0x80][..], &[2, 0], &[2, 1, 0], &[4, 1, 1]] {
        assert!(Reader(der).uint("t").is_err(), "{der:?}");
    }
    assert_eq!(Reader(&[2, 3, 0, 0, 5]).uint("t"), Ok(&[5][..]));
}

#[test]
fn ec_keys_match_ring() {
    let rng = SystemRandom::new();
    let algs = [
        (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
        (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
    ];
    for (alg, curve) in algs {
        let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let ring_key = EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap();
        let parsed = parse_pkcs8(doc.as_ref()).unwrap();
        let PrivateKeyDer::Ec {
            curve: c,
            d,
            point: Some(point),
        } = &parsed
        else {
            panic!("{parsed:?}")
        };
        assert_eq!((*c, d.len()), (curve, curve.scalar_len()));
        assert_eq!(point, ring_key.public_key().as_ref());
        let encoded = encode_pkcs8(&parsed).unwrap();
        assert_eq!(encoded, doc.as_ref(), "byte-identical to ring's encoding");
        assert!(EcdsaKeyPair::from_pkcs8(alg, &encoded, &rng).is_ok());
        assert!(encoded.len() <= 256, "fits the up-front reservation");
        assert_eq!(parse_sec1_ec(&sec1(curve, d, point)).as_ref(), Ok(&parsed));
        let public = PublicKeyDer::Ec {
            curve,
            point: point.clone(),
        };
        assert_eq!(parse_spki(&encode_spki(&public)), Ok(public));
        let bare = PrivateKeyDer::Ec {
            curve,
            d: d.clone(),
            point: None,
        };
        assert_eq!(encode_pkcs8(&bare), Err(Incomplete("EC public point")));
        assert_eq!(
            format!("{bare:?}"),
            format!("Ec {{ curve: {curve:?}, has_point: false, .. }}")
        );
    }
}

#[test]
fn ec_structure_errors() {
    let (d, point) = ([7u8; 32], [4u8; 65]);
    let p256 = sec1(Curve::P256, &d, &point);
    assert!(parse_sec1_ec(&p256).is_ok());
    let contradiction = parse_ec_private(&p256, Some(Curve::P384));
    assert_eq!(
        contradiction,
        Err(Malformed("EC parameters contradict algorithm"))
    );
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &d, &point[..33])).is_err(),
        "compressed-size point"
    );
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &[7; 33], &point)).is_err(),
        "scalar too long"
    );
    let alg_id = |curve: &[u8]| {
        let mut out = Vec::new();
        nested(&mut out, SEQUENCE, |o| {
            tlv(o, OID, OID_EC);
            tlv(o, OID, curve);
        });
        out
    };
    // secp521r1, 1.3.132.0.35, is supported; secp256k1, 1.3.132.0.10, is not.
    let p521 = alg_id(&[0x2B, 0x81, 0x04, 0x00, 0x23]);
    assert!(matches!(
        Alg::read(&mut Reader(&p521)),
        Ok(Alg::Ec(Curve::P521))
    ));
    let k256 = alg_id(&[0x2B, 0x81, 0x04, 0x00, 0x0A]);
    assert_eq!(
        Alg::read(&mut Reader(&k256)).err(),
        Some(Unsupported("elliptic curve"))
    );
    let short = parse_sec1_ec(&sec1(Curve::P256, &[0, 9], &point)).unwrap();
    let PrivateKeyDer::Ec { d, .. } = &short else {
        panic!("{short:?}")
    };
    assert_eq!(
        (d.len(), d[0], d[31]),
        (32, 0, 9),
        "left-padded to the field size"
    );
}

#[test]
fn ed25519_keys_match_ring_and_rfc8410() {
    let rng = SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ring_key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    let parsed = parse_pkcs8(doc.as_ref()).unwrap();
    let PrivateKeyDer::Ed25519 {
        seed,
        public: Some(public),
    } = &parsed
    else {
        panic!()
    };
    assert_eq!(&public[..], ring_key.public_key().as_ref());
    let v2 = encode_pkcs8(&parsed).unwrap();
    assert_eq!(v2, doc.as_ref(), "byte-identical to ring's v2 encoding");
    assert!(Ed25519KeyPair::from_pkcs8(&v2).is_ok());
    let v1_key = PrivateKeyDer::Ed25519 {
        seed: *seed,
        public: None,
    };
    let v1 = encode_pkcs8(&v1_key).unwrap();
    assert!(
        Ed25519KeyPair::from_pkcs8(&v1).is_err(),
        "ring wants v2 here"
    );
    let unchecked = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&v1).unwrap();
    assert_eq!(unchecked.public_key().as_ref(), &public[..]);
    assert_eq!(parse_pkcs8(&v1), Ok(v1_key));
    assert_eq!(format!("{parsed:?}"), "Ed25519 { has_public: true, .. }");

    let rfc_spki = pem_der(RFC8410_SPKI);
    let PublicKeyDer::Ed25519 { key } = parse_spki(&rfc_spki).unwrap() else {
        panic!()
    };
    assert_eq!(encode_spki(&PublicKeyDer::Ed25519 { key }), rfc_spki);
    let rfc_v1 = pem_der(RFC8410_V1);
    let parsed_v1 = parse_pkcs8(&rfc_v1).unwrap();
    assert_eq!(encode_pkcs8(&parsed_v1).unwrap(), rfc_v1);
    let ring_v1 = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&rfc_v1).unwrap();
    assert_eq!(ring_v1.public_key().as_ref(), &key[..]);
    // v2 with an attribute and a `[1]` public key matching the SPKI.
    let parsed_v2 = parse_pkcs8(&pem_der(RFC8410_V2)).unwrap();
    let PrivateKeyDer::Ed25519 {
        seed: rfc_seed,
        public,
    } = &parsed_v2
    else {
        panic!()
    };
    assert_eq!(
        parsed_v1,
        PrivateKeyDer::Ed25519 {
            seed: *rfc_seed,
            public: None
        }
    );
    assert_eq!(*public, Some(key));
}

#[test]
fn rsa_fixtures_match_ring() {
    let (pkcs8, spki) = (pem_der(RSA_PKCS8), pem_der(RSA_SPKI));
    let parsed = parse_pkcs8(&pkcs8).unwrap();
    let PrivateKeyDer::Rsa(k) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(parse_rsa_private_pkcs1(&pem_der(RSA_PKCS1)).as_ref(), Ok(k));
    assert!(ring::rsa::KeyPair::from_pkcs8(&pkcs8).is_ok());
    let encoded = encode_pkcs8(&parsed).unwrap();
    assert_eq!(encoded, pkcs8, "byte-identical to the fixture");
    assert!(ring::rsa::KeyPair::from_pkcs8(&encoded).is_ok());
    assert!(encoded.len() <= 256 + k.parts().iter().map(|p| p.len()).sum::<usize>());
    let ring_key = ring::rsa::KeyPair::from_components(&ring::rsa::KeyPairComponents {
        public_key: ring::rsa::PublicKeyComponents { n: &k.n, e: &k.e },
        d: &k.d,
        p: &k.p,
        q: &k.q,
        dP: &k.dp,
        dQ: &k.dq,
        qInv: &k.qi,
    })
    .unwrap();
    let public = parse_spki(&spki).unwrap();
    assert_eq!(
        public,
        PublicKeyDer::Rsa {
            n: k.n.clone(),
            e: k.e.clone()
        }
    );
    assert_eq!(encode_spki(&public), spki);
    let ring_public = ring_key.public().as_ref();
    assert_eq!(ring_public, encode_rsa_public_pkcs1(&k.n, &k.e));
    assert_eq!(
        parse_rsa_public_pkcs1(ring_public),
        Ok((k.n.clone(), k.e.clone()))
    );
    let mut signature = vec![0; ring_key.public().modulus_len()];
    ring_key
        .sign(
            &sig::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"msg",
            &mut signature,
        )
        .unwrap();
    let PublicKeyDer::Rsa { n, e } = &public else {
        panic!()
    };
    let verifier = sig::UnparsedPublicKey::new(
        &sig::RSA_PKCS1_2048_8192_SHA256,
        encode_rsa_public_pkcs1(n, e),
    );
    assert!(
        verifier.verify(b"msg", &signature).is_ok(),
        "SPKI key verifies imported key"
    );
    assert_eq!(
        format!("{parsed:?}"),
        "Rsa(RsaPrivate { modulus_bits: 2048, .. })"
    );
}

#[test]
fn malformed_inputs_fail_without_panicking() {
    let rng = SystemRandom::new();
    let ec = EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ec_key = parse_pkcs8(ec.as_ref()).unwrap();
    let PrivateKeyDer::Ec {
        curve,
        d,
        point: Some(point),
    } = &ec_key
    else {
        panic!()
    };
    let ec_spki = encode_spki(&PublicKeyDer::Ec {
        curve: *curve,
        point: point.clone(),
    });
    let PublicKeyDer::Rsa { n, e } = parse_spki(&pem_der(RSA_SPKI)).unwrap() else {
        panic!()
    };
    let cases: [Case; 8] = [
        (pem_der(RSA_PKCS8), |b| parse_pkcs8(b).is_ok()),
        (ec.as_ref().to_vec(), |b| parse_pkcs8(b).is_ok()),
        (ed.as_ref().to_vec(), |b| parse_pkcs8(b).is_ok()),
        (pem_der(RSA_PKCS1), |b| parse_rsa_private_pkcs1(b).is_ok()),
        (sec1(*curve, d, point), |b| parse_sec1_ec(b).is_ok()),
        (pem_der(RSA_SPKI), |b| parse_spki(b).is_ok()),
        (ec_spki, |b| parse_spki(b).is_ok()),
        (encode_rsa_public_pkcs1(&n, &e), |b| {
            parse_rsa_public_pkcs1(b).is_ok()
        }),
    ];
    for (der, parses) in &cases {
        assert!(parses(der));
        for end in 0..der.len() {
            assert!(!parses(&der[..end]), "accepted truncation at {end}");
        }
        assert!(
            !parses(&[der.as_slice(), &[0]].concat()),
            "accepted trailing garbage"
        );
        for (i, flip) in (0..der.len()).flat_map(|i| [(i, 0x01), (i, 0x80), (i, 0xFF)]) {
            let mut corrupt = der.clone();
            corrupt[i] ^= flip;
            let _ = parses(&corrupt); // must not panic
        }
    }
    assert_eq!(
        parse_pkcs8(&[0x30, 3, 2, 1, 2]),
        Err(Unsupported("PKCS#8 version"))
    );
    assert!(parse_spki(&[]).is_err() && parse_pkcs8(b"garbage").is_err());
}
