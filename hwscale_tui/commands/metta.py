"""``hwscale-tui metta``: Metta interop helpers (install the main profile's tool maker, show profiles)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import cast

HELP = "Metta helpers: install-tool writes the main profile's tool maker into a checkout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="metta_command", metavar="{install-tool,profiles}", required=True)
    inst = sub.add_parser(
        "install-tool",
        help="write recipes/experiment/hwscale_sweep.py (profile main's tool maker) into a Metta checkout",
    )
    inst.add_argument(
        "--repo", metavar="PATH", help="the Metta main checkout (not needed with --print)"
    )
    inst.add_argument(
        "--force", action="store_true", help="replace a file hwscale-tui did not write"
    )
    inst.add_argument("--print", action="store_true", help="print the module instead of writing it")
    prof = sub.add_parser("profiles", help="list the Metta profiles and what each sends")
    prof.add_argument("--json", action="store_true", help="as JSON")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..metta.install import TOOL_SOURCE, install_tool
    from ..metta.profiles import PROFILES

    if args.metta_command == "install-tool":
        if args.print:
            sys.stdout.write(TOOL_SOURCE)
            return 0
        if not args.repo:
            from ..errors import UsageError

            raise UsageError(
                "install-tool writes the main profile's tool maker into a Metta checkout, and no "
                "--repo was given; accepted: --repo PATH (a Metta main checkout), or --print to "
                "show the module."
            )
        target = install_tool(Path(args.repo), force=args.force)
        print(f"wrote {target} (tool {PROFILES['main'].tool})")
        return 0
    rows = [
        {
            "profile": p.name,
            "metta_commit": p.commit,
            "tool": p.tool,
            "recipe_module": p.recipe_module,
            "tool_parameters": list(p.tool_params),
            "key_paths": dict(p.keys),
            "search_space": "sent as search_space=<JSON>"
            if p.space_editable
            else "built by the tool",
            "trainer_keys": f"sent via {p.trainer_overrides}",
            # fixed values the profile sends in search_space=<JSON>; a trainer.<key>= extra
            # replaces one (plan and launch warn)
            "pinned_trainer_keys": dict(p.fixed_trainer),
            "tool_installed_by_hwscale_tui": p.installs_tool,
        }
        for p in PROFILES.values()
    ]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in rows:
            print(f"{r['profile']} (Metta {r['metta_commit']}): {r['tool']}")
            print(
                f"  recipe {r['recipe_module']}; search space {r['search_space']}; trainer keys {r['trainer_keys']}"
            )
            pinned = cast(dict[str, object], r["pinned_trainer_keys"])
            if pinned:
                values = ", ".join(f"{k} = {v}" for k, v in pinned.items())
                print(
                    f"  pinned trainer keys: {values} (fixed values in search_space; "
                    "a trainer.<key>= extra replaces one, and plan and launch warn)"
                )
            else:
                print("  pinned trainer keys: none")
            for k, v in cast(dict[str, str], r["key_paths"]).items():
                print(f"  {k:<14} {v}")
    return 0
