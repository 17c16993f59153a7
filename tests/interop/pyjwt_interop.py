#!/usr/bin/env python3
"""Interop between tokenctl and PyJWT, in both directions.

Usage: pyjwt_interop.py TOKENCTL WORKDIR

For EdDSA, ES256 and HS256:
  (a) tokenctl generates the key and mints a token; PyJWT verifies it with the JWK
      (the public JWK, or the oct JWK for HMAC) and with tokenctl's JWKS, checking
      iss, aud, sub, scope, the tenant claim and the `typ: at+jwt` header;
  (b) PyJWT signs tokens with the same key (from the private JWK file) and
      `tokenctl jwt verify --jwks KEYFILE --iss ... --aud ... --typ at+jwt` accepts
      them, and refuses a token for another issuer.

Prints one line per check and a last line `interop: N passed, M failed`; exits 1 if
any check failed, 2 on a usage error.
"""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt

ISSUER = "https://issuer.example"
AUDIENCE = "reports-api"
SUBJECT = "user-42"
SCOPE = "read:reports write:reports"
TENANT = "acme"
ALGORITHMS = ("EdDSA", "ES256", "HS256")


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect(condition, message):
    """Raises CheckFailed(message) unless condition holds (not `assert`: -O strips it)."""
    if not condition:
        raise CheckFailed(message)


class Runner:
    """Runs tokenctl and counts checks."""

    def __init__(self, tokenctl, workdir):
        self.tokenctl = tokenctl
        self.workdir = workdir
        self.passed = 0
        self.failed = 0

    def run(self, *args, stdin=None):
        """Runs tokenctl with args; returns the CompletedProcess (text mode)."""
        return subprocess.run(
            [self.tokenctl, *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def run_ok(self, *args, stdin=None):
        """Runs tokenctl, expects exit status 0, returns its standard output."""
        proc = self.run(*args, stdin=stdin)
        expect(
            proc.returncode == 0,
            f"`tokenctl {args[0]} {args[1] if len(args) > 1 else ''}` exited "
            f"{proc.returncode}: {proc.stderr.strip()}",
        )
        return proc.stdout

    def check(self, name, func):
        """Runs one named check; a failure is reported and counted, not raised."""
        try:
            func()
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"ok   {name}", flush=True)


def check_claims(claims, label):
    """The claims minted by tokenctl (or signed by PyJWT) for this test."""
    expect(claims.get("iss") == ISSUER, f"{label}: iss is {claims.get('iss')!r}")
    expect(claims.get("sub") == SUBJECT, f"{label}: sub is {claims.get('sub')!r}")
    aud = claims.get("aud")
    expect(aud == AUDIENCE or aud == [AUDIENCE], f"{label}: aud is {aud!r}")
    expect(claims.get("scope") == SCOPE, f"{label}: scope is {claims.get('scope')!r}")
    expect(claims.get("tid") == TENANT, f"{label}: tid is {claims.get('tid')!r}")
    expect(isinstance(claims.get("exp"), int), f"{label}: exp is {claims.get('exp')!r}")


def pyjwt_decode(token, key, alg):
    """Verifies with PyJWT, requiring iss/aud/sub/exp/iat; returns header and payload."""
    return jwt.decode_complete(
        token,
        key=key,
        algorithms=[alg],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


def tokenctl_to_pyjwt(r, alg):
    """(a) tokenctl keygen + mint, PyJWT verifies."""
    keyfile = r.workdir / f"{alg}.json"
    kid = f"interop-{alg}"
    state = {}

    def keygen():
        out = r.run_ok("keygen", "--alg", alg, "--kid", kid, "--out", str(keyfile))
        public = json.loads(out)
        private = json.loads(keyfile.read_text())
        mode = stat.S_IMODE(os.stat(keyfile).st_mode)
        expect(mode == 0o600, f"key file mode is {oct(mode)}")
        expect(private.get("alg") == alg and private.get("kid") == kid, "private JWK lacks alg/kid")
        expect("d" not in public and "k" not in public, "public JWK holds private members")
        state["public"], state["private"] = public, private

    def mint():
        state["token"] = r.run_ok(
            "jwt", "mint", "--key", str(keyfile), "--iss", ISSUER, "--sub", SUBJECT,
            "--aud", AUDIENCE, "--scope", SCOPE, "--tenant", TENANT, "--ttl", "5m",
            "--claim", "plan=pro",
        ).strip()
        expect(state["token"].count(".") == 2, "mint did not print a compact JWS")

    def verify_with_jwk():
        # HMAC has no public key: the oct JWK (with k) is the verification key.
        jwk = state["private"] if alg == "HS256" else state["public"]
        key = jwt.PyJWK(jwk, algorithm=alg).key
        decoded = pyjwt_decode(state["token"], key, alg)
        header, claims = decoded["header"], decoded["payload"]
        expect(header.get("typ") == "at+jwt", f"typ header is {header.get('typ')!r}")
        expect(header.get("alg") == alg, f"alg header is {header.get('alg')!r}")
        expect(header.get("kid") == kid, f"kid header is {header.get('kid')!r}")
        check_claims(claims, "PyJWT")
        expect(claims.get("plan") == "pro", f"plan is {claims.get('plan')!r}")
        expect(0 < claims["exp"] - claims["iat"] <= 300, "lifetime is not 5 minutes")

    def verify_with_jwks():
        jwks = jwt.PyJWKSet.from_json(r.run_ok("jwks", str(keyfile)))
        expect(len(jwks.keys) == 1, f"tokenctl jwks gave {len(jwks.keys)} keys")
        pyjwk = jwks[kid]
        check_claims(pyjwt_decode(state["token"], pyjwk.key, alg)["payload"], "PyJWT via JWKS")

    def pyjwt_refuses_wrong_audience():
        jwk = state["private"] if alg == "HS256" else state["public"]
        key = jwt.PyJWK(jwk, algorithm=alg).key
        try:
            jwt.decode(state["token"], key=key, algorithms=[alg], audience="other-api")
        except jwt.InvalidAudienceError:
            return
        raise CheckFailed("PyJWT accepted the token for another audience")

    r.check(f"{alg}: tokenctl keygen writes a 0600 private JWK, prints the public one", keygen)
    r.check(f"{alg}: tokenctl jwt mint", mint)
    r.check(f"{alg}: PyJWT verifies tokenctl's token with the JWK", verify_with_jwk)
    if alg == "HS256":
        r.check(f"{alg}: tokenctl jwks publishes no shared secret", lambda: expect(
            json.loads(r.run_ok("jwks", str(keyfile))) == {"keys": []}, "oct key published"))
    else:
        r.check(f"{alg}: PyJWT verifies tokenctl's token with tokenctl's JWKS", verify_with_jwks)
    r.check(f"{alg}: PyJWT refuses tokenctl's token for another audience", pyjwt_refuses_wrong_audience)
    return state


def pyjwt_to_tokenctl(r, alg, state):
    """(b) PyJWT signs with the same key; tokenctl jwt verify accepts."""
    keyfile = r.workdir / f"{alg}.json"

    def private_jwk():
        expect("private" in state, "no key (keygen failed)")
        return state["private"]

    def sign(headers, issuer=ISSUER):
        now = int(time.time())
        claims = {
            "iss": issuer, "sub": SUBJECT, "aud": AUDIENCE, "iat": now, "exp": now + 300,
            "scope": SCOPE, "tid": TENANT, "jti": f"pyjwt-{alg}-{now}",
        }
        return jwt.encode(claims, jwt.PyJWK(private_jwk(), algorithm=alg).key, algorithm=alg, headers=headers)

    def verify(token, *extra):
        return r.run(
            "jwt", "verify", "--jwks", str(keyfile), "--iss", ISSUER, "--aud", AUDIENCE, *extra,
            stdin=token + "\n",
        )

    def accepted_with_kid():
        token = sign({"kid": private_jwk()["kid"], "typ": "at+jwt"})
        proc = verify(token, "--typ", "at+jwt")
        expect(proc.returncode == 0, f"tokenctl exited {proc.returncode}: {proc.stderr.strip()}")
        check_claims(json.loads(proc.stdout), "tokenctl")

    def accepted_without_kid():
        # No kid: tokenctl selects the only key with the token's algorithm.
        token = sign({"typ": "at+jwt"})
        proc = verify(token, "--typ", "at+jwt", "--alg", alg)
        expect(proc.returncode == 0, f"tokenctl exited {proc.returncode}: {proc.stderr.strip()}")
        check_claims(json.loads(proc.stdout), "tokenctl")

    def refused_for_other_issuer():
        token = sign({"kid": private_jwk()["kid"], "typ": "at+jwt"}, issuer="https://evil.example")
        proc = verify(token)
        expect(proc.returncode == 1, f"tokenctl exited {proc.returncode}, not 1")
        expect("wrong_issuer" in proc.stderr, f"stderr: {proc.stderr.strip()}")
        expect(token not in proc.stderr, "tokenctl echoed the token")

    r.check(f"{alg}: tokenctl verifies PyJWT's token (kid, typ at+jwt)", accepted_with_kid)
    r.check(f"{alg}: tokenctl verifies PyJWT's token without kid", accepted_without_kid)
    r.check(f"{alg}: tokenctl refuses PyJWT's token for another issuer", refused_for_other_issuer)


def main(argv):
    if len(argv) != 3:
        print("usage: pyjwt_interop.py TOKENCTL WORKDIR", file=sys.stderr)
        return 2
    tokenctl, workdir = argv[1], Path(argv[2])
    if not os.access(tokenctl, os.X_OK):
        print(f"interop: {tokenctl} is not an executable", file=sys.stderr)
        return 2
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"PyJWT {jwt.__version__}, tokenctl {tokenctl}", flush=True)
    r = Runner(tokenctl, workdir)
    for alg in ALGORITHMS:
        state = tokenctl_to_pyjwt(r, alg)
        pyjwt_to_tokenctl(r, alg, state)
    print(f"interop: {r.passed} passed, {r.failed} failed", flush=True)
    return 1 if r.failed or not r.passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
