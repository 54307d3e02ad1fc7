"""Loader for the DMBN authors' released dataset (Seker et al. 2022; MIT licence).

The data live in the authors' repository ``Deep-Modality-Blending-Networks`` under ``data/data2020/``
(clone it, or download that folder, and pass its path; see ``replications/dmbn/README.md``)::

    data2020/<id>/<action>/<k>.jpeg          k = 0, 1, ... (128x128 RGB frames)
    data2020/<id>/<action>/joint_<id>.txt    one row per step: 6 UR5 joints + gripper (7 columns)
    data2020/<id>/<action>/endpoint_<id>.txt 7 columns
    data2020/<id>/<action>/object_<id>.txt   object x y z
    tests/test.txt, tests/validation.txt     rows "id action t" (action 1 = grasp, 0 = move)

``id`` 0-39 are training, 40-44 validation and 45-49 test interactions; ``action`` is ``grasp`` or
``move`` (a push). The ``tests`` folder sits beside ``data`` in the repository; pass it as
``tests_dir`` when it is elsewhere.

Length policy. The files of one interaction may disagree in length (e.g. 67 frames and 61 joint
rows). We keep the first ``L = min(lengths)`` steps of every file, which is what the authors' notebook
does implicitly (it indexes frames by joint row), and raise :class:`AuthorsDataError` when the longest
file exceeds ``L`` by more than ``max_length_mismatch`` steps, when a file is missing, empty or has the
wrong number of columns, or when the frames are not numbered 0..K-1 without gaps. Interactions then
differ in length; :func:`load_authors_dataset` resamples each onto ``n_steps`` evenly spaced steps
(nearest frame, the same indices for every modality) so they stack into the data contract's arrays.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from sensorimotor.progress import track

ACTIONS = {"move": 0, "grasp": 1}  # the contract's codes: 0 = push ("move"), 1 = grasp
SPLITS = {"train": range(0, 40), "validation": range(40, 45), "test": range(45, 50)}
JOINT_NAMES = ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3", "gripper")


class AuthorsDataError(ValueError):
    """The folder does not hold the authors' layout, or an interaction's files are inconsistent."""


@dataclasses.dataclass(frozen=True)
class Interaction:
    """One interaction, truncated to the common length ``L`` of its files."""

    id: int
    action: str
    images: np.ndarray  # uint8 (L, 128, 128, 3)
    joints: np.ndarray  # float32 (L, 7)
    endpoint: np.ndarray  # float32 (L, 7)
    object_xyz: np.ndarray  # float32 (L, 3)
    lengths: dict[str, int]  # raw lengths of frames / joint / endpoint / object before truncation


def _read_table(path: Path, columns: int) -> np.ndarray:
    if not path.is_file():
        raise AuthorsDataError(f"missing file {path}")
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise AuthorsDataError(f"{path} is not a whitespace-separated table of numbers: {error}") from error
    if table.size == 0:
        raise AuthorsDataError(f"{path} is empty")
    if table.shape[1] != columns:
        raise AuthorsDataError(f"{path} has {table.shape[1]} columns, expected {columns}")
    if not np.isfinite(table).all():
        raise AuthorsDataError(f"{path} contains NaN or inf")
    return table.astype(np.float32)


def _frame_count(folder: Path) -> int:
    numbers = sorted(int(m.group(1)) for p in folder.glob("*.jpeg") if (m := re.fullmatch(r"(\d+)\.jpeg", p.name)))
    if not numbers:
        raise AuthorsDataError(f"no frames <k>.jpeg in {folder}")
    if numbers != list(range(len(numbers))):
        missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
        raise AuthorsDataError(f"frames in {folder} are not numbered 0..{numbers[-1]} without gaps; missing {missing[:10]}")
    return len(numbers)


def _read_frame(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        frame = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return frame


def load_interaction(root: str | Path, id: int, action: str, max_length_mismatch: int = 10) -> Interaction:
    """Read one ``<root>/<id>/<action>/`` folder under the length policy of this module."""
    if action not in ACTIONS:
        raise AuthorsDataError(f"unknown action {action!r}; the dataset has {sorted(ACTIONS)}")
    folder = Path(root) / str(id) / action
    if not folder.is_dir():
        raise AuthorsDataError(f"missing folder {folder} (expected <root>/<id>/<action>/ with root = data/data2020)")
    tables = {
        "joint": _read_table(folder / f"joint_{id}.txt", 7),
        "endpoint": _read_table(folder / f"endpoint_{id}.txt", 7),
        "object": _read_table(folder / f"object_{id}.txt", 3),
    }
    lengths = {"frames": _frame_count(folder), **{k: len(v) for k, v in tables.items()}}
    common = min(lengths.values())
    if max(lengths.values()) - common > max_length_mismatch:
        raise AuthorsDataError(
            f"interaction {id}/{action}: file lengths {lengths} differ by more than max_length_mismatch="
            f"{max_length_mismatch} steps; the data look corrupt (or raise the limit knowingly)"
        )
    if common < 2:
        raise AuthorsDataError(f"interaction {id}/{action} has only {common} step(s)")
    images = np.stack([_read_frame(folder / f"{k}.jpeg") for k in range(common)])
    if images.shape[1:] != images[0].shape or images.ndim != 4:
        raise AuthorsDataError(f"frames of {folder} have different sizes")
    return Interaction(
        id, action, images, tables["joint"][:common], tables["endpoint"][:common], tables["object"][:common], lengths
    )


def read_conditions(path: str | Path) -> list[tuple[int, str, int]]:
    """Rows ``id action t`` of ``tests/test.txt`` or ``tests/validation.txt`` as ``(id, action, t)``."""
    path = Path(path)
    if not path.is_file():
        raise AuthorsDataError(f"missing condition file {path}")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(p.lstrip("-").isdigit() for p in parts) or parts[1] not in ("0", "1"):
            raise AuthorsDataError(f"{path}:{number}: expected 'id action t' with action 0 or 1, got {line!r}")
        rows.append((int(parts[0]), "grasp" if parts[1] == "1" else "move", int(parts[2])))
    return rows


def resample_indices(length: int, n_steps: int) -> np.ndarray:
    """``n_steps`` evenly spaced indices into ``0..length-1`` (nearest step)."""
    return np.rint(np.linspace(0, length - 1, n_steps)).astype(np.int64)


def load_authors_dataset(
    root: str | Path,
    n_steps: int = 50,
    image_size: int = 128,
    ids: range | list[int] | None = None,
    tests_dir: str | Path | None = None,
    max_length_mismatch: int = 10,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """All interactions of ``ids`` (default 0-49, both actions) in the data contract's array layout.

    Returns ``images`` uint8 (N, n_steps, S, S, 3), ``joints`` float32 (N, n_steps, 7), ``t`` (n_steps,),
    ``action`` (N,) (0 = push/"move", 1 = grasp), ``id`` (N,), ``split`` (N,) (0 train, 1 validation,
    2 test), ``length`` (N,) (common length L before resampling), ``object_xyz`` (N, n_steps, 3),
    ``endpoint`` (N, n_steps, 7) and ``cond_step`` (N,): the conditioning step from the authors'
    ``tests/*.txt`` mapped onto the resampled grid (-1 for interactions they do not list).
    """
    from sensorimotor.dmbn.training import resize_images

    root = Path(root)
    if not root.is_dir():
        raise AuthorsDataError(f"authors' data folder {root} does not exist; see replications/dmbn/README.md")
    if n_steps < 2:
        raise ValueError(f"n_steps={n_steps} must be >= 2")
    ids = list(range(50) if ids is None else ids)
    tests = Path(tests_dir) if tests_dir is not None else root.parent.parent / "tests"
    conditions: dict[tuple[int, str], int] = {}
    for name in ("test.txt", "validation.txt"):
        if (tests / name).is_file():
            conditions.update({(i, a): t for i, a, t in read_conditions(tests / name)})
    keys = [(i, a) for i in ids for a in ("grasp", "move")]
    keys = track(keys, "authors' data", progress=progress, leave=False)
    out: dict[str, list] = {k: [] for k in ("images", "joints", "object_xyz", "endpoint", "action", "id", "split",
                                             "length", "cond_step")}
    for i, a in keys:
        inter = load_interaction(root, i, a, max_length_mismatch)
        length = len(inter.joints)
        idx = resample_indices(length, n_steps)
        out["images"].append(resize_images(inter.images[idx], image_size))
        out["joints"].append(inter.joints[idx])
        out["object_xyz"].append(inter.object_xyz[idx])
        out["endpoint"].append(inter.endpoint[idx])
        out["action"].append(ACTIONS[a])
        out["id"].append(i)
        out["split"].append(next(s for s, (name, r) in enumerate(SPLITS.items()) if i in r) if 0 <= i < 50 else 0)
        out["length"].append(length)
        t_raw = conditions.get((i, a))
        if t_raw is None:
            out["cond_step"].append(-1)
        else:
            if not 0 <= t_raw < length:
                raise AuthorsDataError(f"condition step {t_raw} for {i}/{a} is outside its {length} steps")
            out["cond_step"].append(int(np.abs(idx - t_raw).argmin()))
    return {
        "images": np.stack(out["images"]),
        "joints": np.stack(out["joints"]).astype(np.float32),
        "t": np.linspace(0.0, 1.0, n_steps, dtype=np.float32),
        "action": np.asarray(out["action"], dtype=np.int64),
        "id": np.asarray(out["id"], dtype=np.int64),
        "split": np.asarray(out["split"], dtype=np.int64),
        "length": np.asarray(out["length"], dtype=np.int64),
        "object_xyz": np.stack(out["object_xyz"]).astype(np.float32),
        "endpoint": np.stack(out["endpoint"]).astype(np.float32),
        "cond_step": np.asarray(out["cond_step"], dtype=np.int64),
    }
