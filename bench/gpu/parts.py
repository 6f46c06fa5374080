#!/usr/bin/env python3
"""Split a file into numbered parts with SHA-256 checksums, check parts, and join them back (bench/gpu/README.md).

    parts.py split FILE --out DIR --part-bytes N   DIR/1/FILE.part001, DIR/2/FILE.part002, ..., each folder with manifest.json
    parts.py check DIR                             verify the parts present (a transfer's own check)
    parts.py join DIR --to FILE                    verify every part and the whole, then write FILE

Each part travels to the GPU machine in its own call (one folder in `carry`), so each folder holds one part and a copy of
the manifest. Standard library only: it runs under the GPU machine's Python and this machine's.
"""

import argparse
import hashlib
import json
import os
import sys

MANIFEST = "manifest.json"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def split(path, out, part_bytes):
    if part_bytes < 1:
        raise SystemExit("--part-bytes must be positive")
    name = os.path.basename(path)
    size = os.path.getsize(path)
    count = max(1, -(-size // part_bytes))
    parts = []
    with open(path, "rb") as f:
        for i in range(1, count + 1):
            folder = os.path.join(out, str(i))
            os.makedirs(folder, exist_ok=True)
            part = f"{name}.part{i:03d}"
            data = f.read(part_bytes)
            with open(os.path.join(folder, part), "wb") as p:
                p.write(data)
            parts.append({"folder": str(i), "name": part, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"file": name, "size": size, "sha256": sha256(path), "parts": parts}
    for part in parts:
        with open(os.path.join(out, part["folder"], MANIFEST), "w") as m:
            json.dump(manifest, m, indent=1)
    print(f"{name}: {size} bytes in {count} part(s) of at most {part_bytes} bytes under {out}")
    return manifest


def read_manifest(directory):
    for folder in sorted(os.listdir(directory)):
        candidate = os.path.join(directory, folder, MANIFEST)
        if os.path.isfile(candidate):
            with open(candidate) as m:
                return json.load(m)
    raise SystemExit(f"{directory}: no part folder with a {MANIFEST}")


def verify(directory, manifest, require_all):
    """Checks each part present; returns the paths in order, or exits naming the first bad or missing one."""
    paths, missing = [], []
    for part in manifest["parts"]:
        path = os.path.join(directory, part["folder"], part["name"])
        if not os.path.isfile(path):
            missing.append(part["name"])
            continue
        if os.path.getsize(path) != part["size"] or sha256(path) != part["sha256"]:
            raise SystemExit(f"{path}: checksum mismatch (damaged in transfer): send folder {part['folder']} again")
        paths.append(path)
    if missing and require_all:
        raise SystemExit(f"missing part(s): {', '.join(missing)}: send their folders (carry) before joining")
    return paths, missing


def check(directory):
    manifest = read_manifest(directory)
    paths, missing = verify(directory, manifest, require_all=False)
    print(f"{manifest['file']}: {len(paths)} of {len(manifest['parts'])} part(s) present and intact"
          + (f"; still missing: {', '.join(missing)}" if missing else ""))


def join(directory, to):
    manifest = read_manifest(directory)
    paths, _ = verify(directory, manifest, require_all=True)
    os.makedirs(os.path.dirname(os.path.abspath(to)), exist_ok=True)
    with open(to, "wb") as out:
        for path in paths:
            with open(path, "rb") as p:
                for chunk in iter(lambda: p.read(1 << 20), b""):
                    out.write(chunk)
    if os.path.getsize(to) != manifest["size"] or sha256(to) != manifest["sha256"]:
        os.remove(to)
        raise SystemExit(f"{to}: the joined file's checksum does not match the manifest")
    print(f"{to}: {manifest['size']} bytes from {len(paths)} part(s), sha256 {manifest['sha256']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split")
    s.add_argument("file")
    s.add_argument("--out", required=True)
    s.add_argument("--part-bytes", type=int, required=True)
    c = sub.add_parser("check")
    c.add_argument("directory")
    j = sub.add_parser("join")
    j.add_argument("directory")
    j.add_argument("--to", required=True)
    args = ap.parse_args()
    if args.command == "split":
        split(args.file, args.out, args.part_bytes)
    elif args.command == "check":
        check(args.directory)
    else:
        join(args.directory, args.to)


if __name__ == "__main__":
    sys.exit(main())
