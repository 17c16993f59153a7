//! Adapter tests: round trips against ring and RFC 8410, and what the adapter itself
//! must refuse (wrong OIDs and parameters, wrong curves, zero integers, trailing data,
//! truncation, non-DER forms).

use super::*;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use sec1::EcParameters;

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
/// secp256k1, 1.3.132.0.10: well-formed, not supported.
const K256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

fn pem_der(text: &str) -> Vec<u8> {
    super::super::pem::decode(text)
        .expect("valid PEM fixture")
        .1
}

/// Builds a SEC1 `ECPrivateKey` with `[0]` parameters and `[1]` public key.
fn sec1(curve: Curve, d: &[u8], point: &[u8]) -> Vec<u8> {
    to_der(&EcPrivateKey {
        private_key: d,
        parameters: Some(EcParameters::NamedCurve(*curve.oid())),
        public_key: Some(point),
    })
    .unwrap()
}

/// A `SubjectPublicKeyInfo` with any algorithm identifier.
fn spki(oid: ObjectIdentifier, parameters: Option<AnyRef<'_>>, bits: &[u8]) -> Vec<u8> {
    to_der(&SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(bits).unwrap(),
    })
    .unwrap()
}

/// A PKCS#8 `PrivateKeyInfo` around `private_key` with any algorithm identifier.
fn pkcs8(alg: AlgorithmIdentifierRef<'_>, private_key: &[u8], public: Option<&[u8]>) -> Vec<u8> {
    to_der(&PrivateKeyInfo {
        algorithm: alg,
        private_key,
        public_key: public,
    })
    .unwrap()
}

#[test]
fn oids_are_the_ones_the_private_codec_wrote() {
    // The content bytes of the hand-written constants this module replaced.
    for (oid, bytes) in [
        (
            RSA,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01][..],
        ),
        (EC, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
        (P256, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]),
        (P384, &[0x2B, 0x81, 0x04, 0x00, 0x22]),
        (P521, &[0x2B, 0x81, 0x04, 0x00, 0x23]),
        (ED25519, &[0x2B, 0x65, 0x70]),
    ] {
        assert_eq!(oid.as_bytes(), bytes, "{oid}");
    }
}

#[test]
fn integers_and_lengths_are_strict_der() {
    // Positive integers get a leading zero when their top bit is set; long lengths are
    // minimal.
    assert_eq!(
        encode_rsa_public_pkcs1(&[0, 0x80], &[1]).unwrap(),
        [0x30, 7, 2, 2, 0, 0x80, 2, 1, 1]
    );
    let long = encode_rsa_public_pkcs1(&[0x55; 300], &[1]).unwrap();
    assert_eq!(long.get(..4), Some(&[0x30, 0x82, 1, 0x33][..]));
    assert_eq!(long.get(4..8), Some(&[2, 0x82, 1, 0x2C][..]));
    assert_eq!(
        parse_rsa_public_pkcs1(&long),
        Ok((vec![0x55; 300], vec![1]))
    );
    // RSAPublicKey { n = 5, e = <the integer under test> }.
    let with_e = |e: &[u8]| {
        let len = u8::try_from(3 + e.len()).unwrap();
        [&[0x30, len, 2, 1, 5][..], e].concat()
    };
    assert_eq!(
        parse_rsa_public_pkcs1(&with_e(&[2, 1, 3])),
        Ok((vec![5], vec![3]))
    );
    // Negative, empty, zero, non-minimal, wrong tag.
    for e in [
        &[2, 1, 0x80][..],
        &[2, 0],
        &[2, 1, 0],
        &[2, 2, 0, 3],
        &[4, 1, 3],
    ] {
        assert!(parse_rsa_public_pkcs1(&with_e(e)).is_err(), "{e:?}");
    }
    // Indefinite, non-minimal (x2), over-long length-of-length, high tag, truncated
    // content, trailing byte.
    let bad: [&[u8]; 7] = [
        &[0x30, 0x80, 2, 1, 5, 2, 1, 3, 0, 0],
        &[0x30, 0x81, 6, 2, 1, 5, 2, 1, 3],
        &[0x30, 0x82, 0, 6, 2, 1, 5, 2, 1, 3],
        &[0x30, 0x85, 0, 0, 0, 0, 6, 2, 1, 5, 2, 1, 3],
        &[0x3F, 6, 2, 1, 5, 2, 1, 3],
        &[0x30, 7, 2, 1, 5, 2, 1, 3],
        &[0x30, 6, 2, 1, 5, 2, 1, 3, 0],
    ];
    for der in bad {
        assert!(parse_rsa_public_pkcs1(der).is_err(), "{der:?}");
    }
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
        assert_eq!(parse_sec1_ec(&sec1(curve, d, point)).as_ref(), Ok(&parsed));
        let public = PublicKeyDer::Ec {
            curve,
            point: point.clone(),
        };
        assert_eq!(parse_spki(&encode_spki(&public).unwrap()), Ok(public));
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
    // The same through PKCS#8: an algorithm naming P-384 around a P-256 key.
    let p384 = Alg::Ec(Curve::P384).id();
    assert_eq!(
        parse_pkcs8(&pkcs8(p384, &p256, None)),
        Err(Malformed("EC parameters contradict algorithm"))
    );
    let no_params = to_der(&EcPrivateKey {
        private_key: &d,
        parameters: None,
        public_key: Some(&point),
    })
    .unwrap();
    assert_eq!(
        parse_sec1_ec(&no_params),
        Err(Malformed("EC parameters missing"))
    );
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &d, &point[..33])).is_err(),
        "compressed-size point"
    );
    let mut compressed = [2u8; 65];
    compressed[1..].copy_from_slice(&point[1..]);
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &d, &compressed)).is_err(),
        "not uncompressed"
    );
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &[7; 33], &point)).is_err(),
        "scalar too long"
    );
    assert!(
        parse_sec1_ec(&sec1(Curve::P256, &[0; 32], &point)).is_err(),
        "zero scalar"
    );
    let k256 = to_der(&EcPrivateKey {
        private_key: &d,
        parameters: Some(EcParameters::NamedCurve(K256)),
        public_key: Some(&point),
    })
    .unwrap();
    assert_eq!(parse_sec1_ec(&k256), Err(Unsupported("elliptic curve")));
    // secp521r1 is supported; secp256k1 is not; a curve must be named.
    let p521_point = [4u8; 133];
    assert_eq!(
        parse_spki(&spki(EC, Some(AnyRef::from(&P521)), &p521_point)),
        Ok(PublicKeyDer::Ec {
            curve: Curve::P521,
            point: p521_point.to_vec()
        })
    );
    assert_eq!(
        parse_spki(&spki(EC, Some(AnyRef::from(&K256)), &point)),
        Err(Unsupported("elliptic curve"))
    );
    assert_eq!(
        parse_spki(&spki(EC, None, &point)),
        Err(Malformed("EC named curve"))
    );
    assert_eq!(
        parse_spki(&spki(EC, Some(AnyRef::NULL), &point)),
        Err(Malformed("EC named curve"))
    );
    // A P-384 point under a P-256 identifier.
    assert!(parse_spki(&spki(EC, Some(AnyRef::from(&P256)), &[4; 97])).is_err());
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
fn algorithm_identifiers_must_be_known_and_carry_their_parameters() {
    let key = [9u8; 32];
    assert_eq!(
        parse_spki(&spki(ED25519, None, &key)),
        Ok(PublicKeyDer::Ed25519 { key })
    );
    // Ed25519 with parameters, RSA without NULL, an unknown algorithm (id-X25519).
    assert_eq!(
        parse_spki(&spki(ED25519, Some(AnyRef::NULL), &key)),
        Err(Malformed("Ed25519 parameters"))
    );
    let rsa_public = encode_rsa_public_pkcs1(&[0xC5; 256], &[1, 0, 1]).unwrap();
    assert!(parse_spki(&spki(RSA, Some(AnyRef::NULL), &rsa_public)).is_ok());
    assert_eq!(
        parse_spki(&spki(RSA, None, &rsa_public)),
        Err(Malformed("RSA parameters"))
    );
    assert_eq!(
        parse_spki(&spki(RSA, Some(AnyRef::from(&P256)), &rsa_public)),
        Err(Malformed("RSA parameters"))
    );
    let x25519 = ObjectIdentifier::new_unwrap("1.3.101.110");
    assert_eq!(
        parse_spki(&spki(x25519, None, &key)),
        Err(Unsupported("key algorithm"))
    );
    let seed = to_der(&OctetStringRef::new(&key).unwrap()).unwrap();
    let x25519 = AlgorithmIdentifierRef {
        oid: x25519,
        parameters: None,
    };
    assert_eq!(
        parse_pkcs8(&pkcs8(x25519, &seed, None)),
        Err(Unsupported("key algorithm"))
    );
    // An Ed25519 public key of the wrong size, and a BIT STRING with unused bits.
    assert!(parse_spki(&spki(ED25519, None, &key[..31])).is_err());
    let mut unused_bits = spki(ED25519, None, &key);
    let at = unused_bits.len() - key.len() - 1;
    unused_bits[at] = 1;
    assert!(parse_spki(&unused_bits).is_err());
    // PKCS#8 v1 must not carry a public key, v2 must (RFC 5958).
    let ed = Alg::Ed25519.id();
    assert!(parse_pkcs8(&pkcs8(ed, &seed, Some(&key))).is_ok());
    let mut v1_with_public = pkcs8(ed, &seed, Some(&key));
    assert_eq!(v1_with_public[2..5], [2, 1, 1], "the version");
    v1_with_public[4] = 0;
    assert!(parse_pkcs8(&v1_with_public).is_err());
    // Fields after the public key are RFC 5958's extensions: skipped, as `pkcs8` does.
    let mut extended = pkcs8(ed, &seed, None);
    extended.extend_from_slice(&[0xA2, 2, 5, 0]); // [2] { NULL }
    extended[1] += 4;
    assert_eq!(parse_pkcs8(&extended), parse_pkcs8(&pkcs8(ed, &seed, None)));
    let mut v2_without = pkcs8(ed, &seed, None);
    assert_eq!(v2_without[2..5], [2, 1, 0], "the version");
    v2_without[4] = 1;
    assert!(parse_pkcs8(&v2_without).is_err());
    let short = to_der(&OctetStringRef::new(&key[..31]).unwrap()).unwrap();
    assert_eq!(
        parse_pkcs8(&pkcs8(ed, &short, None)),
        Err(Malformed("Ed25519 private key length"))
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
    assert_eq!(
        encode_spki(&PublicKeyDer::Ed25519 { key }).unwrap(),
        rfc_spki
    );
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
    assert_eq!(encode_spki(&public).unwrap(), spki);
    let ring_public = ring_key.public().as_ref();
    assert_eq!(ring_public, encode_rsa_public_pkcs1(&k.n, &k.e).unwrap());
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
        encode_rsa_public_pkcs1(n, e).unwrap(),
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
fn rsa_private_keys_are_two_prime_with_no_zero_component() {
    let der = pem_der(RSA_PKCS1);
    let k = parse_rsa_private_pkcs1(&der).unwrap();
    let encode = |k: &RsaPrivate| {
        let der = encode_pkcs8(&PrivateKeyDer::Rsa(k.clone())).unwrap();
        PrivateKeyInfo::from_der(&der).unwrap().private_key.to_vec()
    };
    assert_eq!(encode(&k), der, "PKCS#1 inside PKCS#8, byte for byte");
    let mut zero_p = k.clone();
    zero_p.p = vec![0];
    assert_eq!(
        parse_rsa_private_pkcs1(&encode(&zero_p)),
        Err(Malformed("RSA p"))
    );
    // Version 1 (multi-prime) with an empty `otherPrimeInfos`.
    let mut multi = der.clone();
    let version = multi.iter().position(|b| *b == 2).unwrap();
    assert_eq!(multi[version..version + 3], [2, 1, 0]);
    multi[version + 2] = 1;
    assert!(parse_rsa_private_pkcs1(&multi).is_err());
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
    })
    .unwrap();
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
        (encode_rsa_public_pkcs1(&n, &e).unwrap(), |b| {
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
    assert!(
        parse_pkcs8(&[0x30, 3, 2, 1, 2]).is_err(),
        "PKCS#8 version 2"
    );
    assert!(parse_spki(&[]).is_err() && parse_pkcs8(b"garbage").is_err());
}
