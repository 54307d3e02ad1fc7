"""Small jobs for :mod:`sensorimotor.jobs`: the pipeline demo's training, the tests and the benchmark.

Each is a plain function of JSON-able keyword arguments that draws from torch's global generator,
which the jobs layer seeds from the job's arguments before calling it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def train_tiny_mlp(steps: int = 50, width: int = 16, n: int = 256, seed: int = 0) -> dict[str, Any]:
    """Fit a one-hidden-layer MLP to a fixed random regression for ``steps`` Adam steps; its state dict.

    ``seed`` only makes otherwise identical jobs different (the jobs layer seeds from all arguments).
    """
    import torch

    inputs = torch.randn(n, 8)
    targets = torch.sin(inputs @ torch.randn(8, 1))
    model = torch.nn.Sequential(torch.nn.Linear(8, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = torch.nn.functional.mse_loss(model(inputs), targets)
    return {"state_dict": model.state_dict(), "loss": final.reshape(1)}


def fail_on_purpose(message: str = "failing on purpose") -> dict[str, Any]:
    """Raise ``ValueError(message)``: how a failing job is reported."""
    raise ValueError(message)


def die_once(marker: str, delay: float = 0.2) -> dict[str, Any]:
    """Kill this worker process the first time (when ``marker`` does not exist yet), else return a tensor."""
    import torch

    path = Path(marker)
    if not path.exists():
        path.write_text("killed once")
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": torch.ones(1)}



def note_overlap(folder: str, name: str, partner: str = "", seconds: float = 1.0, wait: float = 60.0) -> dict[str, Any]:
    """Mark this job running in ``folder``; wait (at most ``wait`` s) for ``partner``'s mark, hold ``seconds``;
    then write to ``folder/name`` whether the partner was seen and which other jobs ran meanwhile."""
    import json

    import torch

    here = Path(folder)
    mark = here / f"running-{name}"
    mark.write_text("")
    seen = not partner
    deadline = time.time() + wait
    while not seen and time.time() < deadline:
        seen = (here / f"running-{partner}").exists()
        time.sleep(0.05)
    others: set[str] = set()
    for _ in range(max(1, int(seconds / 0.05))):
        others |= {p.name.removeprefix("running-") for p in here.glob("running-*")} - {name, partner}
        time.sleep(0.05)
    (here / name).write_text(json.dumps({"partner_seen": seen, "others": sorted(others)}))
    time.sleep(0.2)  # the partner's last look still finds this mark
    mark.unlink()
    return {"value": torch.zeros(1)}
