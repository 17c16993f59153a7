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
`insig` counts the front items another front item's public shape names (a return or
argument type, a field, a variant's payload, a trait item): those cannot be hidden
without hiding, or changing, the item that names them.
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
    return named, members, len(front), len(front & named_in_signatures(index, front))


def type_ids(node, out):
    """Every item id a type expression or bound in `node` names."""
    if isinstance(node, dict):
        # A path to an item (a type, or a trait in a bound or `dyn`): `{path, id, args}`.
        if isinstance(node.get("path"), str) and node.get("id") is not None:
            out.add(str(node["id"]))
        for value in node.values():
            type_ids(value, out)
    elif isinstance(node, list):
        for value in node:
            type_ids(value, out)


def child_ids(item, index):
    """The ids of what an item's public shape is made of: fields, variants (and their
    fields), trait items, inherent public methods and trait impls' items."""
    k = kind(item)
    inner = item["inner"][k]
    ids = []
    if k == "struct":
        shape = inner.get("kind")
        if isinstance(shape, dict):
            for form in shape.values():
                fields = form.get("fields", []) if isinstance(form, dict) else form
                ids.extend(f for f in fields or [] if f is not None)
    elif k == "enum":
        ids.extend(inner.get("variants", []))
    elif k == "variant":
        shape = inner.get("kind")
        if isinstance(shape, dict):
            for form in shape.values():
                fields = form.get("fields", []) if isinstance(form, dict) else form
                ids.extend(f for f in fields or [] if f is not None)
    elif k == "trait":
        ids.extend(inner.get("items", []))
    for impl_id in inner.get("impls", []) if isinstance(inner, dict) else []:
        impl = index.get(str(impl_id))
        if impl is None:
            continue
        body = impl["inner"]["impl"]
        inherent = body.get("trait") is None
        for m in body["items"]:
            member = index.get(str(m))
            if member and (not inherent or member.get("visibility") == "public"):
                ids.append(m)
    return ids


def named_in_signatures(index, front):
    """The front items whose name appears in the public shape (signatures, fields,
    variants, trait items) of another front item: hiding one would leave that other
    item naming a type its users cannot name."""
    seen = set()
    for fid in front:
        item = index.get(fid)
        if item is None:
            continue
        refs, stack, visited = set(), [item], set()
        while stack:
            node = stack.pop()
            k = kind(node)
            body = {key: value for key, value in node["inner"][k].items() if key != "impls"} \
                if isinstance(node["inner"][k], dict) else node["inner"][k]
            type_ids(body, refs)
            for child in child_ids(node, index):
                if str(child) not in visited and str(child) in index:
                    visited.add(str(child))
                    stack.append(index[str(child)])
        refs.discard(fid)
        seen |= refs
    return seen


def main():
    crates = sys.argv[1:] or CRATES
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     check=True, capture_output=True, text=True).stdout)
    target = meta["target_directory"]
    total, total_members, total_front, total_sigs = collections.Counter(), 0, 0, 0
    print(f"{'crate':<16} {'items':>5} {'front':>5} {'insig':>5} {'consts':>6} {'errors':>6} "
          f"{'members':>7}  by kind")
    for crate in crates:
        named, members, front, in_sigs = count(crate, target)
        total += named
        total_members += members
        total_front += front
        total_sigs += in_sigs
        items = sum(v for k, v in named.items() if k != "error types")
        print(f"{crate:<16} {items:>5} {front:>5} {in_sigs:>5} {named['constant']:>6} "
              f"{named['error types']:>6} {members:>7}  {dict(sorted(named.items()))}")
    items = sum(v for k, v in total.items() if k != "error types")
    print(f"{'total':<16} {items:>5} {total_front:>5} {total_sigs:>5} {total['constant']:>6} "
          f"{total['error types']:>6} {total_members:>7}")


if __name__ == "__main__":
    main()
