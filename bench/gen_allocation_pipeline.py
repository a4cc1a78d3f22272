#!/usr/bin/env python3
"""Writes a pipeline for the allocation benchmark: the synthetic FOCUS file's ~50 projects, one
attribution rule (the project tag), and 10 pools that cascade into each other: each team's
untagged rows split over five projects and the next pool (even, by direct cost, or by a token
driver), the last pool (rows with no project tag at all) over every project by direct cost.

    python3 bench/gen_allocation_pipeline.py CSV OUT.toml
"""
import importlib.util
import os
import sys

csv, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("gen_focus", os.path.join(os.path.dirname(__file__), "gen_focus.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
projects, teams = gen.PROJECTS, gen.TEAMS
lines = ['name = "allocation-bench"', 'currency = "USD"', "", "[[sources]]", 'name = "focus"', 'format = "focus"',
         'url = "%s"' % os.path.abspath(csv), ""]
for i, p in enumerate(projects):
    lines += ["[[projects]]", 'name = "%s"' % p, 'business-unit = "BU-%d"' % (i % 7), ""]
lines += ["[[rules]]", 'project-from-tag = "project"', ""]
methods = ["even", "direct-cost", "driver"]
for i, team in enumerate(teams[:9]):
    m = methods[i % 3]
    targets = [projects[(i * 5 + k) % len(projects)] for k in range(5)]
    if m != "direct-cost":  # direct cost has no meaning for a pool: those pools end their chain
        targets.append("pool-%d" % (i + 1))
    lines += ["[[pools]]", 'name = "pool-%d"' % i, 'when = { tag = "team", equals = "%s" }' % team, 'method = "%s"' % m,
              "targets = [%s]" % ", ".join('"%s"' % t for t in targets)]
    if m == "driver":
        lines += ['driver = "tokens"']
    lines += [""]
lines += ["[[pools]]", 'name = "pool-9"', 'when = { tag = "project", present = false }', 'method = "direct-cost"', ""]
lines += ["[[drivers]]", 'name = "tokens"', 'column = "ConsumedQuantity"', 'when = { column = "ConsumedUnit", equals = "Tokens" }', ""]
open(out, "w").write("\n".join(lines))
