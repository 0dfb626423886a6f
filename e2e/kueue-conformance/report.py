#!/usr/bin/env python3
"""Reads a Ginkgo JSON report of Kueue's e2e suite; with an expected-failures list, fails on any unexpected
failure and on any expected failure that passed (so the list only shrinks). Prints `N passed, M failed`."""
import json
import sys


def load(report_path):
    """(It specs as {full name: state}, failed suite-level nodes such as BeforeSuite)."""
    with open(report_path) as f:
        suites = json.load(f)
    results, broken = {}, []
    for suite in suites:
        for spec in suite.get("SpecReports") or []:
            state = spec.get("State", "")
            kind = spec.get("LeafNodeType")
            if kind != "It":
                if state not in ("passed", "skipped", "pending", ""):
                    broken.append(f"{kind}: {state}")
                continue
            name = " ".join([*(spec.get("ContainerHierarchyTexts") or []), spec.get("LeafNodeText", "")])
            results[name] = state
    return results, broken


def expected_failures(path):
    names = []
    reason = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                reason = line
            elif line.strip():
                if reason is None:
                    sys.exit(f"{path}: '{line}' has no '# reason' line above it")
                names.append(line.strip())
                reason = None
    return set(names)


def main():
    results, broken = load(sys.argv[1])
    for b in broken:
        print(f"  suite node failed: {b}")
    passed = sorted(n for n, s in results.items() if s == "passed")
    failed = sorted(n for n, s in results.items() if s not in ("passed", "skipped", "pending"))
    for n in failed:
        print(f"  FAILED  {n}")
    print(f"Kueue e2e: {len(passed)} passed, {len(failed)} failed")
    if broken or not passed and not failed:
        print("  the suite did not run its specs")
        return 1
    if len(sys.argv) < 3:
        return 1 if failed else 0
    want = expected_failures(sys.argv[2])
    unexpected = [n for n in failed if n not in want]
    now_pass = sorted(n for n in want if results.get(n) == "passed")
    missing = sorted(n for n in want if n not in results)
    for n in unexpected:
        print(f"  unexpected failure: {n}")
    for n in now_pass:
        print(f"  expected to fail but passed (remove it from the list): {n}")
    for n in missing:
        print(f"  listed but not run (renamed or filtered out?): {n}")
    return 1 if unexpected or now_pass or missing else 0


if __name__ == "__main__":
    sys.exit(main())
