"""Print ``name==lower-bound`` for every runtime dependency of pyproject.toml (a pip
constraints file), so CI can install the oldest versions the project claims to support and
run the tests against them."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

BOUND = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([0-9][^,;\s]*)")


def main() -> int:
    """``min_versions.py [EXTRA_PACKAGE ...]``: the runtime dependencies' lower bounds, plus
    those of the named packages from the optional extras (e.g. pyarrow, which the recorder
    uses when it is installed)."""
    project = tomllib.loads(Path("pyproject.toml").read_text())
    wanted = {name.lower() for name in sys.argv[1:]}
    extras = [
        dep
        for deps in project["project"].get("optional-dependencies", {}).values()
        for dep in deps
        if (m := BOUND.match(dep)) and m.group(1).split("[")[0].lower() in wanted
    ]
    for dep in [*project["project"]["dependencies"], *extras]:
        m = BOUND.match(dep)
        if not m:
            print(f"no lower bound in {dep!r}", file=sys.stderr)
            return 1
        name = m.group(1).split("[")[0]
        print(f"{name}=={m.group(2)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
