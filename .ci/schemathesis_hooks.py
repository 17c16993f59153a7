"""Credentials for schemathesis against the quickstart (`.ci/schemathesis`).

schemathesis finds key ids in the answers (`GET /admin/keys` lists every key) and
then rotates, narrows and revokes them, its own credential included. So it never
holds the bootstrap admin key: it gets a child admin key, minted here with the
bootstrap key, holding every bootstrap scope but `write:reports`. A key can only be
rotated, changed or revoked by a caller holding every scope the key holds, so the
child can never take out the bootstrap key (403 `scope_widening`). When schemathesis
takes out the child, a new child is minted within a second (the provider refreshes
every second; schemathesis also refetches on a 401), so the run keeps testing past
that point. The OAuth client
endpoints get the demo client's HTTP Basic credentials.

Environment: TK_BASE (http://127.0.0.1:PORT), TK_ADMIN_KEY, TK_CLIENT_ID,
TK_CLIENT_SECRET.
"""

import base64
import os

import requests
import schemathesis

BASE = os.environ["TK_BASE"]
CHILD_SCOPES = ["admin:keys", "admin:tenants", "tokens:introspect", "read:reports", "read:usage"]


@schemathesis.auth(refresh_interval=1).apply_to(path_regex="^/(admin/|oauth/introspect$)")
class ChildAdminKey:
    """A fresh admin API key, sent as `Authorization: Bearer`."""

    def get(self, case, ctx):
        answer = requests.post(
            f"{BASE}/admin/keys",
            headers={"Authorization": f"Bearer {os.environ['TK_ADMIN_KEY']}"},
            json={"name": "schemathesis", "scopes": CHILD_SCOPES},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["secret"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="^/oauth/(token|revoke)$")
class DemoClient:
    """The demo OAuth client, by HTTP Basic (form-urlencoded id and secret)."""

    def get(self, case, ctx):
        pair = f"{os.environ['TK_CLIENT_ID']}:{os.environ['TK_CLIENT_SECRET']}"
        return base64.b64encode(pair.encode()).decode()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Basic {data}"
