"""The built-in sweep runner: one Bayesian sweep for one hardware pair.

``runner.SweepRunner`` suggests hyperparameters (``search.protein.ProteinOptimizer``), keeps up
to ``max_parallel_jobs`` trials running through a dispatcher (``local.LocalDispatcher``:
processes on this machine; ``skypilot.SkyPilotDispatcher``: managed jobs;
``slurm.SlurmDispatcher``: Slurm batch jobs), records every
suggestion, state change, metric and result in the SQLite store (``state.SweepState``), and
resumes from that store after a crash. ``hwscale-tui sweep`` is its command line.
"""
