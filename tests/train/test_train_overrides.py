"""`key=value` parsing, defaults from the builtin preset, and bad input -> one sentence, exit 2."""

from __future__ import annotations

import math
import subprocess

import pytest

from hwscale_tui.cli import main
from hwscale_tui.errors import UsageError
from hwscale_tui.hardware import BUILTIN_ROLLOUT, HardwarePair
from hwscale_tui.paths import app_paths
from hwscale_tui.prices import price_per_gpu_hour
from hwscale_tui.search.presets import builtin_preset
from hwscale_tui.train import parse_overrides
from hwscale_tui.train.overrides import SWEPT_KEYS, parse_value
from tests.support.cli import cli_env, hwscale_cmd


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("null", None),
        ("None", None),
        ("42", 42),
        ("-3", -3),
        ("2.5e-3", 0.0025),
        ("1e5", 100000.0),
        ("CartPole-v1", "CartPole-v1"),
        ("", ""),
    ],
)
def test_parse_value_follows_metta_rules(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("gpus,nodes", [(1, 1), (2, 1), (3, 1), (6, 1), (7, 2), (4, 2)])
def test_defaults_are_the_builtin_preset_centers(gpus, nodes):
    # every rank count a grid allows trains at its preset's center, powers of two or not
    cfg = parse_overrides([f"hardware.gpus={gpus}", f"hardware.nodes={nodes}"], env={})
    assert cfg.swept_params() == builtin_preset(HardwarePair(gpus, nodes)).space.center()
    assert cfg.ranks == gpus * nodes
    # what --help and docs/train.md say: 1024 x ranks, rounded up to a power of two
    assert cfg.batch_size == 2 ** math.ceil(math.log2(1024 * gpus * nodes))
    assert sum(cfg.rank_envs()) * BUILTIN_ROLLOUT == cfg.batch_size
    assert cfg.price_per_gpu_hour == price_per_gpu_hour("H100").price
    assert (cfg.env, cfg.update_epochs, cfg.store, cfg.wandb_mode) == (
        "CartPole-v1",
        4,
        False,
        "disabled",
    )
    assert cfg.group == f"train.g{gpus}n{nodes}"


def test_every_swept_key_is_honoured_and_recorded():
    values = {
        "trainer.batch_size": 4096,
        "trainer.minibatch_size": 512,
        "trainer.optimizer.learning_rate": 0.001,
        "trainer.losses.ppo.clip_coef": 0.3,
        "trainer.losses.ppo.vf_clip_coef": 0.5,
        "trainer.losses.ppo.gae_lambda": 0.9,
        "trainer.losses.ppo.ent_coef": 0.01,
        "trainer.losses.ppo.vf_coef": 1.5,
    }
    assert set(values) == set(SWEPT_KEYS)
    cfg = parse_overrides(
        [f"{k}={v}" for k, v in values.items()] + ["run=r1", "group=g.g1n1", "seed=7"], env={}
    )
    assert cfg.swept_params() == values
    assert (cfg.run, cfg.group, cfg.seed, cfg.envs_per_rank) == (
        "r1",
        "g.g1n1",
        7,
        4096 // BUILTIN_ROLLOUT,
    )
    assert cfg.overrides["trainer.losses.ppo.vf_coef"] == 1.5


def test_wandb_fields_come_from_the_environment_when_unset():
    env = {"WANDB_MODE": "offline", "WANDB_PROJECT": "p", "WANDB_ENTITY": "e"}
    cfg = parse_overrides([], env=env)
    assert (cfg.wandb_mode, cfg.wandb_project, cfg.wandb_entity) == ("offline", "p", "e")
    cfg = parse_overrides(["wandb.mode=disabled", "wandb.project=q"], env=env)
    assert (cfg.wandb_mode, cfg.wandb_project) == ("disabled", "q")


def test_wandb_online_needs_a_key_before_anything_runs(tmp_path):
    """Without a key W&B refused only after the run had trained (in a sweep, every trial the
    same): online is refused up front, and taken with the key in the environment or in the
    netrc entry `wandb login` writes for the W&B host."""
    missing = {"NETRC": str(tmp_path / "none")}
    with pytest.raises(UsageError, match=r"wandb\.mode=online needs a W&B API key") as e:
        parse_overrides(["wandb.mode=online"], env=missing)
    assert "accepted: export WANDB_API_KEY=<key>, or wandb.mode=offline or disabled." in str(
        e.value
    )
    with pytest.raises(UsageError):
        parse_overrides([], env={**missing, "WANDB_MODE": "online"})
    assert parse_overrides(["wandb.mode=online"], env={**missing, "WANDB_API_KEY": "k" * 40})
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    assert parse_overrides(["wandb.mode=online"], env={"NETRC": str(netrc)}).wandb_mode == "online"
    # an entry for another host (a W&B server of one's own) is not this host's key
    other = {"NETRC": str(netrc), "WANDB_BASE_URL": "http://127.0.0.1:8080"}
    with pytest.raises(UsageError):
        parse_overrides(["wandb.mode=online"], env=other)
    assert parse_overrides(["wandb.mode=offline"], env=missing).wandb_mode == "offline"


@pytest.mark.parametrize(
    ("tokens", "fragment"),
    [
        (["trainer.batchsize=1024"], "did you mean trainer.batch_size"),
        (["trainer.learning_rat=0.1"], "did you mean trainer.optimizer.learning_rate"),
        (["trainr.clip_coef=0.1"], "did you mean trainer.losses.ppo.clip_coef"),
        (["bogus=1"], "unknown key 'bogus'"),
        (["trainer.batch_size"], "not key=value"),
        (["=3"], "not key=value"),
        (["trainer.batch_size=abc"], "trainer.batch_size='abc'"),
        (["trainer.batch_size=1.5"], "an integer >= 1"),
        (["trainer.optimizer.learning_rate=-1"], "a number > 0"),
        (["trainer.losses.ppo.gae_lambda=1.5"], "[0, 1]"),
        (["trainer.optimizer.learning_rate=nan"], "a number > 0"),
        (["store=maybe"], "true or false"),
        (["env=Pong-v5"], "CartPole-v1, Acrobot-v1"),
        (["wandb.mode=sometimes"], "online, offline, disabled"),
        (["run=../escape"], "starting with a letter or digit"),
        (["hardware.gpus=0"], "an integer >= 1"),
        (["trainer.batch_size=1000"], "a multiple of 64, like 960 or 1024."),
        (["trainer.batch_size=32"], "like 64."),
        (
            ["hardware.gpus=3", "trainer.batch_size=128"],
            "without an env (64 steps each); accepted: at least 192",
        ),
        (
            ["hardware.gpus=3", "trainer.batch_size=192", "trainer.minibatch_size=2"],
            "into 96 minibatches, too small to give each of the 3 ranks a share; accepted: a minibatch of at least 3.",
        ),
        (["trainer.minibatch_size=2048"], "larger than trainer.batch_size=1024"),
        (
            ["hardware.gpus=2", "trainer.minibatch_size=511"],
            "does not divide trainer.batch_size=2048",
        ),
        (["trainer.minibatch_size=384"], "does not divide trainer.batch_size=1024"),
        (["hardware.gpus=8", "hardware.nodes=32"], "at most 128 ranks"),
    ],
)
def test_bad_input_is_one_sentence(tokens, fragment):
    with pytest.raises(UsageError) as err:
        parse_overrides(tokens, env={})
    message = str(err.value)
    assert fragment in message
    assert message.endswith(".") and "\n" not in message


def test_cli_bad_input_exits_2_before_writing_anything(private_home, capsys):
    assert main(["train", "trainer.batch_size=1000", "store=true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwscale-tui: error: trainer.batch_size=1000") and err.count("\n") == 1
    assert not private_home.exists()


def test_cli_process_reports_unknown_key_with_exit_2(private_home):
    proc = subprocess.run(
        hwscale_cmd("train", "trainer.lr=0.1"),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown key 'trainer.lr'" in proc.stderr
    assert not private_home.exists()


def test_help_lists_every_key(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for key in (
        "trainer.total_timesteps",
        "trainer.losses.ppo.vf_clip_coef",
        "hardware.nodes",
        "wandb.mode",
        "cost.price_per_gpu_hour",
    ):
        assert key in out


def test_help_names_the_default_run_id_as_it_is_made(capsys):
    import re

    from hwscale_tui.train.overrides import default_run_id

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "default: train_<date>_<time>_<hex>" in out  # as docs/train.md says
    assert re.fullmatch(r"train_\d{8}_\d{6}_[0-9a-f]{6}", default_run_id())


@pytest.mark.parametrize("token", ["trainer.xyz=1", "trainer.bogus=1"])
def test_an_unknown_key_like_no_accepted_one_gets_no_guess(token):
    with pytest.raises(UsageError) as err:
        parse_overrides([token], env={})
    assert "did you mean" not in str(err.value)  # the shared "trainer." prefix alone is no likeness
    assert "accepted keys: run, group" in str(err.value)


def _split(ranks: int, batch: int, minibatch: int) -> tuple[list[int], list[int]]:
    cfg = parse_overrides(
        [
            f"hardware.gpus={ranks}",
            f"trainer.batch_size={batch}",
            f"trainer.minibatch_size={minibatch}",
        ],
        env={},
    )
    return cfg.rank_envs(), [cfg.rank_minibatch(r) for r in range(ranks)]


def test_an_uneven_batch_is_dealt_out_as_evenly_as_whole_minibatch_shares_allow():
    assert _split(3, 4096, 512) == ([22, 21, 21], [176, 168, 168])
    # 128 minibatches of 256 over 6 ranks: an env's 64 steps cannot be cut in two, so envs go
    # in pairs (each pair's 128 steps give one sample to each minibatch)
    envs, shares = _split(6, 32768, 256)
    assert envs == [86, 86, 86, 86, 84, 84] and all(e % 2 == 0 for e in envs)
    assert shares == [e * BUILTIN_ROLLOUT // 128 for e in envs] and sum(shares) == 256
    # the all-reduce's equal-weight mean of the weighed gradients is the share-weighted mean
    cfg = parse_overrides(["hardware.gpus=3"], env={})
    weights = [cfg.rank_grad_weight(r) for r in range(3)]
    assert weights == [176 * 3 / 512, 168 * 3 / 512, 168 * 3 / 512]
    assert sum(weights) == pytest.approx(3.0)
    even = parse_overrides(["hardware.gpus=2"], env={})
    assert [even.rank_grad_weight(r) for r in range(2)] == [1.0, 1.0]


@pytest.mark.parametrize("ranks", [1, 2, 3, 4, 5, 6, 7, 8])
def test_every_split_uses_the_whole_batch_and_the_same_minibatch_count_per_rank(ranks):
    for batch in (512 * ranks, 1024 * ranks, 2048, 4096, 8192, 32768):
        for minibatch in (256, 512, 1024):
            if batch % minibatch or batch < ranks * BUILTIN_ROLLOUT:
                continue
            envs, shares = _split(ranks, batch, minibatch)
            assert sum(envs) * BUILTIN_ROLLOUT == batch and sum(shares) == minibatch
            minibatches = batch // minibatch
            unit = minibatches // math.gcd(minibatches, BUILTIN_ROLLOUT)  # envs per share
            assert max(envs) - min(envs) <= unit and all(e % unit == 0 for e in envs)
            # each rank runs batch/minibatch minibatches an epoch: the all-reduce stays in step
            assert {e * BUILTIN_ROLLOUT // s for e, s in zip(envs, shares)} == {batch // minibatch}
            if batch % (ranks * BUILTIN_ROLLOUT) == 0 and minibatch % ranks == 0:
                # an even split is the one it always was
                assert envs == [batch // ranks // BUILTIN_ROLLOUT] * ranks
                assert shares == [minibatch // ranks] * ranks


@pytest.mark.parametrize("batch", [str(2**40), "1e30"])
def test_a_batch_beyond_the_machines_memory_is_refused_before_any_rank(private_home, batch):
    # it started the rank, which failed ("Maximum allowed dimension exceeded", exit 1) or, for
    # a batch just above the memory, ran the machine out of it
    proc = subprocess.run(
        hwscale_cmd("train", "-q", f"trainer.batch_size={batch}", "trainer.total_timesteps=64"),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith("hwscale-tui: error: trainer.batch_size=") and (
        proc.stderr.count("\n") == 1
    ), proc.stderr
    assert "of memory for its rollouts, more than this machine's" in proc.stderr
    assert "accepted: at most " in proc.stderr and proc.stdout == ""
    assert not private_home.exists()


def test_null_on_a_text_key_is_its_default_as_in_metta(monkeypatch):
    monkeypatch.setenv("WANDB_ENTITY", "team")
    cfg = parse_overrides(["metrics_file=null", "run=None", "group=NULL", "wandb.entity=none"])
    assert cfg.metrics_file is None and cfg.run.startswith("train_")
    assert cfg.group == "train.g1n1" and cfg.wandb_entity is None


def test_metrics_file_null_writes_the_default_file_not_one_named_null(tmp_path, monkeypatch):
    # it wrote the run's metrics to ./null
    monkeypatch.chdir(tmp_path)
    assert (
        main(["train", "-q", "run=r_null", "metrics_file=null", "trainer.total_timesteps=64"]) == 0
    )
    assert not (tmp_path / "null").exists()
    assert (app_paths().runs / "r_null" / "metrics.jsonl").read_text().count("\n") == 2


def test_help_names_the_environments_and_the_default(capsys):
    # it said only "env  environment": a user had to provoke an error to learn the names
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("env "))
    assert "CartPole-v1, Acrobot-v1, MountainCar-v0 (default CartPole-v1)" in line, line
    assert parse_overrides([]).env == "CartPole-v1"
