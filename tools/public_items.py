#!/usr/bin/env python3
"""Counts each library's public items from rustdoc's JSON output.

    python3 tools/public_items.py [crate ...]

Builds `cargo rustdoc --lib -- --output-format json` per crate (stable toolchain with
RUSTC_BOOTSTRAP=1: the JSON format is unstable) and walks the crate from its root
module, following `pub use` re-exports and public modules. An item counts once, by
its id, whatever the number of paths reaching it: modules, structs, enums, unions,
traits, functions, constants, statics, type aliases and macros (what a user can
name). Methods, fields and variants are counted apart, as `members`. `front` counts
the items a service reaches without entering a module named for another audience
(`admin`, `backend`, `format`, `fuzzing`, `inspect`, `limits`, `summary`, `verify`).
"""

import collections
import json
import os
import subprocess
import sys

CRATES = ["token-scopes", "token-core", "token-ratelimit", "token-audit", "token-tower"]
# Modules named for their audience (administration surfaces, store implementers,
# key-format tools, fuzz targets, policy tools, size bounds, log tools and log
# verifiers): reachable, but not what a service using the crate reads.
AUDIENCE = {"admin", "backend", "format", "fuzzing", "inspect", "limits", "summary", "verify"}
NAMED = {"module", "struct", "enum", "union", "trait", "function", "constant", "static",
         "type_alias", "macro", "proc_macro", "trait_alias"}


def kind(item):
    return next(iter(item["inner"]))


def count(crate, target_dir):
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    subprocess.run(
        ["cargo", "rustdoc", "-q", "-p", crate, "--lib", "--all-features", "--",
         "-Z", "unstable-options", "--output-format", "json"],
        check=True, env=env)
    with open(os.path.join(target_dir, "doc", crate.replace("-", "_") + ".json")) as f:
        doc = json.load(f)
    index = doc["index"]
    seen, named, members = set(), collections.Counter(), 0
    front = set()
    stack = [(doc["root"], True)]
    while stack:
        ident, at_front = stack.pop()
        key = str(ident)
        item = index.get(key)
        if item is None or item.get("crate_id") != 0:
            continue
        k = kind(item)
        inner = item["inner"][k]
        if k == "use":
            if inner.get("id") is not None:
                target = index.get(str(inner["id"]))
                here = at_front and inner.get("name") not in AUDIENCE
                if target is not None and inner.get("is_glob") and kind(target) == "module":
                    stack.extend((i, here) for i in target["inner"]["module"]["items"])
                else:
                    stack.append((inner["id"], here))
            continue
        if k == "module" and item.get("name") in AUDIENCE:
            at_front = False
        if at_front and k in NAMED and key != str(doc["root"]):
            front.add(key)
        if key in seen:
            if at_front and k == "module":
                stack.extend((i, True) for i in inner["items"])
            continue
        seen.add(key)
        if key != str(doc["root"]) and k in NAMED:
            named[k] += 1
            name = item.get("name") or ""
            if k in ("struct", "enum") and (name.endswith("Error") or name.endswith("ErrorKind")):
                named["error types"] += 1
        if k == "module":
            stack.extend((i, at_front) for i in inner["items"])
        elif k in ("struct", "enum", "union", "trait"):
            if k == "trait":
                members += len(inner.get("items", []))
            if k == "enum":
                members += len(inner.get("variants", []))
            if k == "struct":
                shape = inner.get("kind")
                if isinstance(shape, dict):
                    plain = shape.get("plain") or {}
                    members += len(plain.get("fields", []))
            for impl_id in inner.get("impls", []):
                impl = index.get(str(impl_id))
                if impl is None:
                    continue
                body = impl["inner"]["impl"]
                if body.get("trait") is None:  # inherent methods only
                    members += sum(1 for m in body["items"]
                                   if index.get(str(m), {}).get("visibility") == "public")
    return named, members, len(front)


def main():
    crates = sys.argv[1:] or CRATES
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     check=True, capture_output=True, text=True).stdout)
    target = meta["target_directory"]
    total, total_members, total_front = collections.Counter(), 0, 0
    print(f"{'crate':<16} {'items':>5} {'front':>5} {'consts':>6} {'errors':>6} {'members':>7}"
          "  by kind")
    for crate in crates:
        named, members, front = count(crate, target)
        total += named
        total_members += members
        total_front += front
        items = sum(v for k, v in named.items() if k != "error types")
        print(f"{crate:<16} {items:>5} {front:>5} {named['constant']:>6} "
              f"{named['error types']:>6} {members:>7}  {dict(sorted(named.items()))}")
    items = sum(v for k, v in total.items() if k != "error types")
    print(f"{'total':<16} {items:>5} {total_front:>5} {total['constant']:>6} "
          f"{total['error types']:>6} {total_members:>7}")


if __name__ == "__main__":
    main()
