"""``experiments new NAME --from SOURCE`` on a store that cannot take the new experiment.

Found by hand: the new experiment's file was written before the store was touched; with the
store locked past its wait the command said so, exit 1, asking for a retry -- but the file
stayed, and the retry was refused: ``an experiment named 'copy' already exists``. The file is
removed when the store step fails, so the retry makes it.
"""

from __future__ import annotations

from hwscale_tui.cli import main
from hwscale_tui.errors import StoreError
from hwscale_tui.launch.experiments import managed_file
from hwscale_tui.store import Store


def test_a_locked_store_leaves_no_file_and_the_retry_makes_the_experiment(
    capsys, monkeypatch
) -> None:
    assert main(["experiments", "new", "source"]) == 0
    capsys.readouterr()
    real = Store.touch_experiment

    def locked(self, name, *a, **k):  # type: ignore[no-untyped-def]
        if name == "copy":
            raise StoreError("the store X: another process holds its lock; retry in a moment.")
        return real(self, name, *a, **k)

    monkeypatch.setattr(Store, "touch_experiment", locked)
    assert main(["experiments", "new", "copy", "--from", "source"]) == 1
    assert "another process holds its lock; retry in a moment." in capsys.readouterr().err
    assert not managed_file("copy").exists()

    monkeypatch.setattr(Store, "touch_experiment", real)
    assert main(["experiments", "new", "copy", "--from", "source"]) == 0, capsys.readouterr().err
    assert managed_file("copy").is_file()
    with Store.open_default(readonly=True) as store:
        assert "copy" in store.experiment_names()
