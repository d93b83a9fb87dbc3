"""Regenerate docs/experiment.md from the config schema (a test checks it is current).

.venv/bin/python scripts/gen_experiment_doc.py
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwscale_tui import config as c
from hwscale_tui.commands.common import FLAG_OF_KEY

DOC = Path(__file__).resolve().parent.parent / "docs" / "experiment.md"

INTRO = """# The experiment file

One TOML file describes a hardware scaling experiment. `hwscale-tui plan --save FILE` writes one
with every value spelled out; the app's grid editor saves the same file. Every command that acts
on an experiment (the app, `plan`, `launch`, `status`, `cancel`, `sweep`, `trials`, `analyze`)
takes `--experiment FILE`; without it they use the current experiment: the one last saved, launched
or selected (docs/experiments.md); with none yet, `config/experiment.toml` in the config dir
(`$HWSCALE_HOME/config/` when set) if it exists, else the experiment launched most recently
(not an archived one), else the built-in defaults.

Rules:

- Unknown sections or keys, wrong types, negative counts, an empty grid, a GPU count above
  `max_gpus_per_node` given explicitly, an experiment name SkyPilot would reject, a
  `[cost] gpu_type` that is blank or has spaces, or a file with no settings at all (empty, or
  only comments: a file cut short would otherwise run the built-in defaults) are errors:
  one sentence naming the file, the key and what is accepted; exit code 2; nothing written.
- A GPU count above `max_gpus_per_node` that comes from the *default* grid (you lowered the max
  but kept the default counts) is skipped with the reason instead; so are pairs in `grid.exclude`.
- Values marked *runner default* take the default of the file's runner when left out
  (`builtin`: a laptop-sized sweep; `metta`: the original launcher's 50 trials, batch 4, 4 parallel,
  300M steps).
- `WANDB_ENTITY` / `WANDB_PROJECT` fill `[wandb] entity/project` when the file leaves them out;
  those values are not written back when the file is saved.
- `price_per_gpu_hour` left out means the dated price table (`hwscale_tui/prices.py`).
- Bounds: every number must be finite and within the range shown as *range* (integers at most
  2^63 - 1, what SQLite stores); the experiment name at most 100 characters, other strings at
  most 4096, lists at most 1024 items. The file itself must be a regular file of at most 1 MiB
  (a FIFO, a device or a directory is refused before it is read).
- Templates (`[launch] command`, `[sweep] trial_command`) are Python format strings: only the
  listed placeholders, and `{{` / `}}` for literal braces (a lone `{` is refused).
- `plan`, `launch` and `sweep` take a flag for many keys (shown below as *flag*) that overrides
  the file for that command, checked by the same rules; `plan --save FILE` writes the result.
"""


def render() -> str:
    lines = [INTRO]
    for sname, cls in c.SECTIONS.items():
        lines += [f"## [{sname}]", "", "| key | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(cls):
            dotted = f"{sname}.{f.name}"
            if dotted in c.RUNNER_DEFAULTS["builtin"]:
                d = (
                    f"builtin `{c.RUNNER_DEFAULTS['builtin'][dotted]!r}`, "
                    f"metta `{c.RUNNER_DEFAULTS['metta'][dotted]!r}` (*runner default*)"
                )
            else:
                if f.default is not dataclasses.MISSING:
                    v = f.default
                else:
                    assert f.default_factory is not dataclasses.MISSING  # every key has a default
                    v = f.default_factory()
                d = "(unset)" if v is None else f"`{v!r}`"
            doc = f.metadata.get("doc", "")
            if "choices" in f.metadata:
                doc += " (" + ", ".join(f.metadata["choices"]) + ")"
            if "max" in f.metadata:
                lo, hi = f.metadata.get("min", 0), f.metadata["max"]
                doc += f"; *range* {c.plain_number(lo)} to {c.plain_number(hi)}"
            if "max_len" in f.metadata:
                doc += f"; at most {f.metadata['max_len']} characters"
            if dotted in FLAG_OF_KEY:
                doc += f"; *flag* `{FLAG_OF_KEY[dotted]}`"
            lines.append(f"| `{f.name}` | {d} | {doc.replace('|', '/')} |")
        lines.append("")
    # The local default grid fits the usable cores; the example pins 16 so the doc is the same
    # on every machine.
    saved = os.environ.get("HWSCALE_USABLE_CORES")
    os.environ["HWSCALE_USABLE_CORES"] = "16"
    try:
        example = c.default_config(env={}).to_toml().strip()
    finally:
        if saved is None:
            del os.environ["HWSCALE_USABLE_CORES"]
        else:
            os.environ["HWSCALE_USABLE_CORES"] = saved
    lines += [
        "## Example (the built-in defaults)",
        "",
        "With the built-in trainer on the local dispatcher the grid's defaults fit the usable "
        "cores (each rank is a CPU process): on 2 cores `gpu_counts = [1, 2]`, "
        "`node_counts = [1]`. The example is for a machine with 16 or more usable cores.",
        "",
        "```toml",
        example,
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
