"""QA pass 65 over `hwscale-tui analyze`: what a user saw, fixed."""

from __future__ import annotations

import json

import pytest

from hwscale_tui import cli

# no cost logged: every cost is priced
TRIALS = "run_id,gpus,nodes,score,sps\na,1,1,100,50\nb,2,1,90,100\n"
HISTORY = "run_id,agent_step,wall_s,score\na,100,1,10\na,200,3600,100\nb,100,1,90\n"


@pytest.fixture
def argv(tmp_path):
    (tmp_path / "t.csv").write_text(TRIALS)
    (tmp_path / "h.csv").write_text(HISTORY)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "priced"\n\n[cost]\ngpu_type = "H100"\nprice_per_gpu_hour = 2.0\n'
    )
    return [
        "analyze",
        "-e",
        str(exp),
        "--trials",
        str(tmp_path / "t.csv"),
        "--history",
        str(tmp_path / "h.csv"),
        "--bootstrap",
        "0",
        "--json",
    ]


def _price(capsys) -> dict:
    return json.loads(capsys.readouterr().out)["price"]


@pytest.mark.parametrize(
    "flags,gpu_type,spot",
    [(["--gpu-type", "A100"], "A100", False), (["--spot"], "H100", True)],
)
def test_gpu_type_or_spot_prices_from_the_table_not_the_files_own_price(
    argv, capsys, flags, gpu_type, spot
):
    """The experiment's price_per_gpu_hour ($2, its H100's) was kept for `--gpu-type A100` and
    `--spot`, and the summary called it "A100 on-demand $2/GPU-hour" / "H100 spot $2"."""
    from hwscale_tui.prices import price_per_gpu_hour

    assert cli.main(argv) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 2.0  # the file's own price, for its own GPU
    assert cli.main([*argv, *flags]) == 0
    price = _price(capsys)
    table = price_per_gpu_hour(gpu_type, spot=spot).price
    assert table != 2.0
    assert (price["gpu_type"], price["spot"], price["usd_per_gpu_hour"]) == (gpu_type, spot, table)
    assert price["source"].startswith("price table")
    # a price given with them is the one in force; the file's GPU named again changes nothing
    assert cli.main([*argv, *flags, "--price-per-gpu-hour", "3"]) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 3.0
    assert cli.main([*argv, "--gpu-type", "H100"]) == 0
    assert _price(capsys)["usd_per_gpu_hour"] == 2.0
