#!/usr/bin/env python3
"""Checks the import graph of racesgd's libraries: every #include "FOLDER/..." in a
library folder must point to the same folder or to one the folder may depend on (the
layers of docs/architecture.md), so there is no upward arrow and no cycle. Exit 1 and
one line per offending include otherwise. Usage: check_layers.py [REPO]"""
import os, re, sys

# folder -> the folders it may include (directly). Keep in step with the CMake libraries.
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "delay": {"core"},
    "sgd": {"delay", "core"},
    "ps": {"sgd", "delay", "core"},
    "worker": {"ps", "sgd", "delay", "models", "core"},
    "runtime": {"worker", "ps", "sgd", "delay", "models", "core"},
    "mpi": {"runtime", "worker", "ps", "sgd", "delay", "models", "core"},
    "bench": {"mpi", "runtime", "worker", "ps", "sgd", "delay", "models", "core"},
    # the Python module: a user of the embedding API, on top of everything
    "python": {"bench", "mpi", "runtime", "worker", "ps", "sgd", "delay", "models", "core"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z_]+)/')

def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = 0
    files = 0
    for folder, allowed in ALLOWED.items():
        for dp, _, fs in os.walk(os.path.join(repo, folder)):
            for f in fs:
                if not f.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dp, f)
                files += 1
                with open(path, encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1)
                        if target == folder or target in allowed or target not in ALLOWED:
                            continue
                        rel = os.path.relpath(path, repo)
                        print(f"{rel}:{n}: {folder}/ includes {target}/ "
                              f"(allowed: {', '.join(sorted(allowed)) or 'nothing'})")
                        bad += 1
    # The table itself must be acyclic (a layer order exists).
    order, seen = [], set()
    def visit(x, stack):
        if x in stack:
            raise SystemExit(f"check_layers: cycle in the layer table through {x}")
        if x in seen:
            return
        for y in ALLOWED[x]:
            visit(y, stack | {x})
        seen.add(x)
        order.append(x)
    for x in ALLOWED:
        visit(x, set())
    if files == 0:
        print("check_layers: no sources found under", repo)
        return 1
    print(f"check_layers: {files} files, {bad} upward or sideways includes; "
          f"layers bottom-up: {' -> '.join(order)}")
    return 1 if bad else 0

sys.exit(main())
