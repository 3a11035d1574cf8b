#!/usr/bin/env python3
"""The include graph of src/, from its #include "..." lines (headers are included by bare name;
each layer's folder is on the quote path, as the Makefile sets it).

Modules are NAME.c + NAME.h (+ a private NAME-internal.h). Prints the layer of each module, the module graph's cycles, its
depth (the longest chain of includes between modules), and every include that climbs from a
lower layer to a higher one (layers top to bottom: Makefile's LAYERS).

  include-graph.py [--dot] [SRC]      report (or a Graphviz graph)
  include-graph.py --climbs [SRC]     only the climbs, one "from -> to" a line (tests/t-layers.sh)
"""
import os
import re
import sys

LAYERS = ["cli", "facts", "plan", "store", "system", "conf", "net", "base"]  # top to bottom


def scan(src):
    files = {}  # bare name -> (layer, path)
    for layer in os.listdir(src):
        d = os.path.join(src, layer)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if f.endswith((".c", ".h")):
                files[f] = (layer, os.path.join(d, f))
    return files


def module(name):
    """NAME.c, NAME.h and a private NAME-internal.h are one module."""
    base = name.rsplit(".", 1)[0]
    return base[: -len("-internal")] if base.endswith("-internal") else base


def graph(files):
    edges = {}  # module -> set(module)
    layer_of = {}
    for name, (layer, path) in files.items():
        m = module(name)
        layer_of[m] = layer
        edges.setdefault(m, set())
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                inc = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if inc and inc.group(1) in files and module(inc.group(1)) != m:
                    edges[m].add(module(inc.group(1)))
    return edges, layer_of


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def depth(edges, cyc):
    """Longest include chain between modules, a cycle's modules counted as one."""
    comp = {v: v for v in edges}
    for c in cyc:
        for v in c:
            comp[v] = c[0]
    dag = {}
    for a, bs in edges.items():
        for b in bs:
            if comp[a] != comp[b]:
                dag.setdefault(comp[a], set()).add(comp[b])
    memo = {}

    def d(v):
        if v not in memo:
            memo[v] = max((1 + d(w) for w in dag.get(v, ())), default=0)
        return memo[v]

    return max((d(v) for v in set(comp.values())), default=0)


def rank(layer):
    return LAYERS.index(layer) if layer in LAYERS else len(LAYERS)


def main(argv):
    dot = "--dot" in argv
    only_climbs = "--climbs" in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
    files = scan(src)
    edges, layer_of = graph(files)
    climbs = sorted((f"{layer_of[a]}/{a} -> {layer_of[b]}/{b}")
                    for a in edges for b in edges[a] if rank(layer_of[b]) < rank(layer_of[a]))
    if only_climbs:
        print("\n".join(climbs))
        return 0
    if dot:
        print("digraph includes {\n  rankdir=TB;")
        for layer in LAYERS:
            mods = sorted(m for m in edges if layer_of[m] == layer)
            if mods:
                print(f'  subgraph "cluster_{layer}" {{ label="{layer}"; ' + " ".join(f'"{m}";' for m in mods) + " }")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    cyc = cycles(edges)
    print(f"modules: {len(edges)}, includes between modules: {sum(len(v) for v in edges.values())}")
    print(f"depth (longest include chain): {depth(edges, cyc)}")
    print(f"cycles: {len(cyc)}" + "".join(f"\n  {' <-> '.join(c)}" for c in cyc))
    print(f"climbs (a lower layer including a higher one): {len(climbs)}" + "".join(f"\n  {c}" for c in climbs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
