#!/usr/bin/env python3
"""Check liblakehouse's layering (docs/internals/ARCHITECTURE.md): a layer uses only the
layers below it.

  python3 scripts/check_layers.py [--build DIR]

Two checks, both driven by the rules below:
  include rule  every #include "..." in src/**/*.c and src/**/*.h, resolved to the layer of
                the header it names; the CLI includes only public and cli/ headers; nothing
                below the facade includes a facade-only public header.
  call rule     every global symbol an object file of DIR (default: build) uses, mapped with
                nm to the layer of the object that defines it; the CLI uses only the public
                API (the names include/lakehouse/ declares LH_API).

Prints one line per violation and a summary line. Exit 0: clean; 1: violations;
2: cannot check (no objects in DIR, nm missing).  Python 3 standard library only.
"""

import argparse
import fnmatch
import os
import re
import subprocess
import sys
from collections import defaultdict

# ---- the rules ------------------------------------------------------------------------
# (level, name, path patterns relative to the repository root). A file belongs to the first
# layer one of whose patterns matches: "dir/*" is the whole subtree, any other pattern
# matches files at its own folder depth only ("src/*.c": top-level files of src/).
# Bottom to top; the levels are ARCHITECTURE.md's numbers.
LAYERS = [
    (1, "core", ["src/core/*"]),                  # text, errors, arrays, readers, settings
    (1, "store", ["src/store/*"]),                # the key/value object store
    (1, "ftm", ["src/ftm/*"]),                    # the FtM model, types, entities
    (2, "model", ["src/model/*"]),                # dataset config/model, rows, CSV forms
    (3, "logic", ["src/logic/*"]),                # explode, aggregate, buffer, merge rules
    (4, "storage", ["src/storage/*"]),            # Delta/Parquet store, journal, tags, fence
    (5, "repository", ["src/repository/*"]),      # the dataset context and the domain
    (6, "operation", ["src/operation/*"]),        # job framework, optimize, export, make
    (7, "facade", ["src/*.c", "src/*.h"]),        # catalog.c, dataset.c, version.c
    (8, "cli", ["src/cli/*"]),                    # the command: a client of the public API
    (8, "api", ["src/api/*"]),                    # the HTTP server (to come), beside the CLI
]

# Within one level, a dependency between two different layers is an error ("sideways")
# unless listed here as (user, used). Level 1: core is the bottom and calls neither store
# nor ftm; store and ftm both use core and not each other.
SAME_LEVEL_ALLOWED = {
    ("store", "core"),
    ("ftm", "core"),
}

# Layers that are clients of the public API only: they include nothing but public headers
# (include/lakehouse/) and their own, and use only symbols declared LH_API.
API_CLIENTS = {"cli", "api"}

# Public headers that only the facade (and what sits above it) may include: they declare
# the functions src/catalog.c, src/dataset.c and src/version.c implement. lakehouse.h is
# the umbrella: it declares lh_version/lh_conventions_version (src/version.c) and includes
# catalog.h and dataset.h. The include check is transitive through public headers. The list
# itself is checked against the objects: a header is facade-only exactly when every
# function it declares LH_API is defined in the facade. (operations.h is not: it declares
# the operations of src/operation/ and also lh_dataset_index, defined in src/dataset.c;
# including it is harmless, calling lh_dataset_index from below is caught by the call rule.)
FACADE_ONLY_HEADERS = {
    "lakehouse/catalog.h",
    "lakehouse/dataset.h",
    "lakehouse/lakehouse.h",
}

# Headers generated into the build tree (CMake configure_file) and the layer they belong
# to, as they are not under src/.
GENERATED_HEADERS = {
    "lh_version.h": "core",                       # from src/core/version.h.in
}

# Accepted exceptions: (file pattern, included header or used symbol pattern, reason).
# Every entry needs a reason a reviewer can judge. None so far.
EXCEPTIONS = [
]

# ---- implementation -------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVEL = {name: level for level, name, _ in LAYERS}
INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
LH_API_RE = re.compile(r'^LH_API [^(;\[]*?\b(\w+)\s*[(\[]', re.M)
COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def layer_of(relpath):
    """The layer name of a repository-relative path under src/, or None."""
    parts = relpath.split("/")
    if not parts or parts[0] != "src" or len(parts) < 2:
        return None
    for _, name, patterns in LAYERS:
        for pat in patterns:
            # A pattern's folder depth must match unless it ends in "/*" (a subtree).
            if pat.endswith("/*"):
                if relpath.startswith(pat[:-1]):
                    return name
            elif pat.count("/") == relpath.count("/") and fnmatch.fnmatchcase(relpath, pat):
                return name
    return None


def describe(name):
    return "layer %d %s" % (LEVEL[name], name)


def dependency_problem(user, used):
    """None when layer `user` may depend on layer `used`, else a short reason."""
    if user == used:
        return None
    if LEVEL[used] > LEVEL[user]:
        return "up"
    if LEVEL[used] == LEVEL[user] and (user, used) not in SAME_LEVEL_ALLOWED:
        return "sideways"
    return None


USED_EXCEPTIONS = set()


def excepted(path, what):
    for i, (f, w, _) in enumerate(EXCEPTIONS):
        if fnmatch.fnmatchcase(path, f) and fnmatch.fnmatchcase(what, w):
            USED_EXCEPTIONS.add(i)
            return True
    return False


def read_source(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def quoted_includes(path):
    text = COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), read_source(path))
    return INCLUDE_RE.findall(text)


def resolve(including, name):
    """(kind, key) for an #include "name": kind is 'src' (key: repository path), 'public'
    (key: lakehouse/x.h), 'generated' (key: the name) or None. Quoted includes search the
    including file's folder first, then -I include, -I src, -I <build>/generated."""
    here = os.path.dirname(including)
    candidates = [
        os.path.join(here, name),
        os.path.join(ROOT, "include", name),
        os.path.join(ROOT, "src", name),
    ]
    for c in candidates:
        if os.path.isfile(c):
            r = rel(os.path.normpath(c))
            if r.startswith("include/"):
                return "public", r[len("include/"):]
            if r.startswith("src/"):
                return "src", r
            return None, r
    if name in GENERATED_HEADERS:
        return "generated", name
    return None, name


def public_include_closure():
    """For each public header, the set of public headers it includes, transitively."""
    inc_dir = os.path.join(ROOT, "include")
    direct = {}
    for dirpath, _, files in os.walk(inc_dir):
        for f in files:
            if f.endswith(".h"):
                p = os.path.join(dirpath, f)
                key = rel(p)[len("include/"):]
                direct[key] = {n for n in quoted_includes(p)
                               if os.path.isfile(os.path.join(inc_dir, n))}
    closure = {}
    for h in direct:
        seen, todo = set(), [h]
        while todo:
            for n in direct.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        closure[h] = seen
    return closure


def src_files():
    out = []
    for dirpath, dirs, files in os.walk(os.path.join(ROOT, "src")):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                out.append(os.path.join(dirpath, f))
    return out


def check_includes(violations):
    closure = public_include_closure()
    files = src_files()
    for path in files:
        r = rel(path)
        user = layer_of(r)
        if user is None:
            violations.append("%s: is in no layer (add it to LAYERS)" % r)
            continue
        for name in quoted_includes(path):
            if excepted(r, name):
                continue
            kind, key = resolve(path, name)
            if kind is None:
                violations.append("%s: includes %s (not found under src/, include/ or the "
                                  "generated headers)" % (r, name))
                continue
            if kind == "public":
                if LEVEL[user] >= LEVEL["facade"]:
                    continue
                bad = sorted(({key} | closure.get(key, set())) & FACADE_ONLY_HEADERS)
                if bad:
                    via = "" if bad == [key] else " (which includes %s)" % ", ".join(
                        b for b in bad if b != key)
                    violations.append("%s: includes %s%s (%s -> layer %d facade: "
                                      "facade-only header)"
                                      % (r, name, via, describe(user), LEVEL["facade"]))
                continue
            used = layer_of(key) if kind == "src" else GENERATED_HEADERS[key]
            if used is None:
                violations.append("%s: includes %s (in no layer)" % (r, name))
                continue
            if user in API_CLIENTS and used != user:
                violations.append("%s: includes %s (%s -> %s: a client of the public API "
                                  "includes only lakehouse/ and its own headers)"
                                  % (r, name, describe(user), describe(used)))
                continue
            problem = dependency_problem(user, used)
            if problem:
                violations.append("%s: includes %s (%s -> %s%s)" % (
                    r, name, describe(user), describe(used),
                    ", sideways" if problem == "sideways" else ""))
    return len(files)


def nm(objs):
    """{object: [(symbol, nm type letter)]} from one nm -P -A run over all objects."""
    out = subprocess.run(["nm", "-P", "-A"] + objs, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("nm failed: %s" % out.stderr.strip())
    syms = defaultdict(list)
    for line in out.stdout.splitlines():
        obj, sep, rest = line.partition(": ")
        fields = rest.split()
        if sep and len(fields) >= 2:
            syms[obj].append((fields[0], fields[1]))
    return syms


def find_objects(build):
    """{source path: object path} for the objects CMake built from src/: every
    <build>/CMakeFiles/<target>.dir/src/**.o. Objects whose source is gone are stale
    leftovers of a moved file and are skipped (listed in `stale`)."""
    objects, stale = {}, []
    cmf = os.path.join(build, "CMakeFiles")
    if not os.path.isdir(cmf):
        return objects, stale
    for target in sorted(os.listdir(cmf)):
        base = os.path.join(cmf, target, "src")
        if not target.endswith(".dir") or not os.path.isdir(base):
            continue
        for dirpath, dirs, files in os.walk(base):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith(".o"):
                    continue
                obj = os.path.join(dirpath, f)
                src = "src/" + os.path.relpath(obj, base).replace(os.sep, "/")[:-2]
                if not os.path.isfile(os.path.join(ROOT, src)):
                    stale.append(obj)
                elif src not in objects:
                    objects[src] = obj
    return objects, stale


def public_api():
    """{name: header} for every name include/lakehouse/*.h declares LH_API."""
    api = {}
    inc_dir = os.path.join(ROOT, "include", "lakehouse")
    for f in sorted(os.listdir(inc_dir)):
        if f.endswith(".h"):
            for name in LH_API_RE.findall(read_source(os.path.join(inc_dir, f))):
                api.setdefault(name, "lakehouse/" + f)
    return api


def check_calls(build, violations, notes):
    objects, stale = find_objects(build)
    if not objects:
        return None
    if stale:
        notes.append("skipped %d stale object(s) whose source no longer exists: %s" % (
            len(stale), ", ".join(rel(s) for s in stale)))
    older = [s for s, o in objects.items()
             if os.path.getmtime(o) < os.path.getmtime(os.path.join(ROOT, s))]
    if older:
        notes.append("%d object(s) are older than their source (rebuild for an exact call "
                     "check): %s" % (len(older), ", ".join(sorted(older))))

    defined = defaultdict(set)          # symbol -> sources defining it
    undefined = {}                      # source -> symbols it uses
    table = nm(list(objects.values()))
    for src, obj in objects.items():
        syms = table.get(obj, [])
        for sym, typ in syms:
            if typ.isupper() and typ != "U":     # global (incl. weak) definitions
                defined[sym].add(src)
        undefined[src] = sorted({sym for sym, typ in syms if typ in "Uvw"})
    for sym, srcs in sorted(defined.items()):
        if len(srcs) > 1 and len({layer_of(s) for s in srcs}) > 1:
            notes.append("%s is defined in several layers: %s" % (sym, ", ".join(sorted(srcs))))

    api = public_api()
    for src in sorted(undefined):
        user = layer_of(src)
        if user is None:
            violations.append("%s: is in no layer (add it to LAYERS)" % rel(objects[src]))
            continue
        for sym in undefined[src]:
            if sym not in defined or excepted(src, sym):
                continue                # a system or third-party library symbol
            where = sorted(defined[sym])[0]
            used = layer_of(where)
            if used is None:
                continue
            o = rel(objects[src])
            if user in API_CLIENTS and used != user:
                if sym not in api:
                    violations.append("%s: calls %s defined in %s (%s -> %s: not in the "
                                      "public API)" % (o, sym, where, describe(user),
                                                       describe(used)))
                continue
            problem = dependency_problem(user, used)
            if problem:
                violations.append("%s: calls %s defined in %s (%s -> %s%s)" % (
                    o, sym, where, describe(user), describe(used),
                    ", sideways" if problem == "sideways" else ""))

    # The FACADE_ONLY_HEADERS list against the objects: a public header is facade-only when
    # every function it declares LH_API is defined in the facade.
    by_header = defaultdict(list)
    for name, h in api.items():
        if name in defined:             # functions and data the library defines
            by_header[h].append(all(layer_of(s) == "facade" for s in defined[name]))
    facade_headers = {h for h, flags in by_header.items() if flags and all(flags)}
    for h in sorted(facade_headers - FACADE_ONLY_HEADERS):
        violations.append("rules: include/%s declares only facade functions but is not in "
                          "FACADE_ONLY_HEADERS" % h)
    for h in sorted(FACADE_ONLY_HEADERS - facade_headers):
        violations.append("rules: include/%s is in FACADE_ONLY_HEADERS but declares functions "
                          "defined below the facade" % h)
    return len(objects)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the CMake build directory whose objects are checked (default: build)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)

    violations, notes = [], []
    nfiles = check_includes(violations)
    try:
        nobjects = check_calls(build, violations, notes)
    except FileNotFoundError:
        print("check_layers: nm not found (binutils): cannot run the call check",
              file=sys.stderr)
        return 2
    except RuntimeError as e:
        print("check_layers: %s" % e, file=sys.stderr)
        return 2
    if nobjects is None:
        print("check_layers: no object files under %s/CMakeFiles/*.dir/src/: build first "
              "(make all) or pass --build DIR" % build, file=sys.stderr)
        return 2

    for i, (f, w, _) in enumerate(EXCEPTIONS):
        if i not in USED_EXCEPTIONS:
            notes.append("exception (%s, %s) matched nothing: remove it" % (f, w))
    for n in notes:
        print("check_layers: note: %s" % n, file=sys.stderr)
    for v in violations:
        print(v)
    print("check_layers: %s: %d source files, %d objects checked" % (
        "%d violation(s)" % len(violations) if violations else "ok", nfiles, nobjects))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
