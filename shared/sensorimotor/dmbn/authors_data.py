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

Pairing and stale-frame policy (measured on the released copy, commit 98def2f):

* The three tables of an interaction (joint, endpoint, object) have the same number of rows ``L``
  (34 to 114); a disagreement is refused.
* Every interaction has ``L + 1`` recorded frames: frame 0 shows the scene before the first row and
  **frame k+1 pairs with row k**. Frame 0 is therefore not used, and step k of an :class:`Interaction`
  holds frame k+1 with row k of every table. (The authors' notebook indexes frames and rows with the
  same k, i.e. one step off this pairing.)
* Seven grasps (ids 0, 2, 4, 5, 6, 8, 9) hold 3 to 24 further frames after frame ``L`` that come from
  another recording (in 5/grasp the object is lifted by frame 59 = ``L``, back on the table at frame 60,
  lifted again by frame 83). These *stale* frames ``L+1..K-1`` are dropped deliberately; their number is
  kept per interaction (``Interaction.stale_frames``, the dataset's ``stale_frames``) and summarised by
  :func:`stale_report`. 77 frames in all on the released copy.
* Refused with :class:`AuthorsDataError` naming the file and what is accepted: a missing, empty or
  non-numeric file, a wrong column count, NaN/inf, frames not numbered 0..K-1 without gaps, fewer than
  ``L + 1`` frames, more than ``max_stale_frames`` stale frames, frames of different sizes, fewer than 2
  rows.

Interactions then differ in length; :func:`load_authors_dataset` resamples each onto ``n_steps`` evenly
spaced steps (nearest step, the same indices for every modality) so they stack into the data contract's
arrays. The authors' validation and test conditioning steps (``tests/validation.txt``,
``tests/test.txt``; ``t`` is a row index, whose frame is ``t+1``) are read by
:func:`read_authors_conditions` and mapped onto the resampled grid as the dataset's ``cond_step``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path

import numpy as np

from sensorimotor.progress import track

ACTIONS = {"move": 0, "grasp": 1}  # the contract's codes: 0 = push ("move"), 1 = grasp
SPLITS = {"train": range(0, 40), "validation": range(40, 45), "test": range(45, 50)}
JOINT_NAMES = ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3", "gripper")
CONDITION_FILES = {"validation": "validation.txt", "test": "test.txt"}
MAX_STALE_FRAMES = 40  # the released copy has at most 24; more than this is treated as corrupt
AUTO = "auto"  # ``find_authors_data``: look where the data usually are
ENV_VAR = "DMBN_AUTHORS_DATA"  # a path to ``data/data2020`` that ``auto`` takes first
HAND_OUT = Path("shared") / "dmbn-authors" / "data" / "data2020"  # beside a checkout, as this project hands it out
REPOSITORY_ROOT = Path(__file__).resolve().parents[3]  # shared/sensorimotor/dmbn/ -> the checkout


class AuthorsDataError(ValueError):
    """The folder does not hold the authors' layout, or an interaction's files are inconsistent."""


def find_authors_data(setting: str | None, root: str | Path | None = None) -> Path | None:
    """The authors' ``data/data2020`` folder that a chapter setting names, or ``None`` when it is off.

    ``None`` turns the authors' data off. ``"auto"`` takes ``$DMBN_AUTHORS_DATA`` if set (it must then
    exist), else the hand-out folder ``../shared/dmbn-authors/data/data2020`` beside the repository ``root``
    (default: the checkout this library lives in), else ``None``; no other folder is searched. Any other
    string is a path that must exist. A path that does not exist raises :class:`AuthorsDataError` naming it,
    before any work starts.
    """
    if setting is None:
        return None
    if setting != AUTO:
        path = Path(setting).expanduser()
        if not path.is_dir():
            raise AuthorsDataError(f"authors_data={setting!r} is not a folder; accepted: the path of the authors' "
                                   f"data/data2020, {AUTO!r}, or null (off); see replications/dmbn/README.md")
        return path.resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise AuthorsDataError(f"${ENV_VAR}={env!r} is not a folder; point it at the authors' data/data2020")
        return path.resolve()
    hand_out = Path(root if root is not None else REPOSITORY_ROOT).resolve().parent / HAND_OUT
    return hand_out.resolve() if hand_out.is_dir() else None


def fingerprint(root: str | Path) -> str:
    """A short hash of the names and sizes of every file under ``root`` and its ``tests`` folder, for cache
    keys that follow the data rather than the path they sit at."""
    root = Path(root)
    digest = hashlib.sha256()
    for base in (root, root.parent.parent / "tests"):
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(base)}:{path.stat().st_size};".encode())
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Interaction:
    """One interaction of ``L`` steps: step k holds frame k+1 and row k of every table."""

    id: int
    action: str
    images: np.ndarray  # uint8 (L, H, W, 3): frames 1..L
    joints: np.ndarray  # float32 (L, 7)
    endpoint: np.ndarray  # float32 (L, 7)
    object_xyz: np.ndarray  # float32 (L, 3)
    lengths: dict[str, int]  # raw lengths of frames / joint / endpoint / object
    stale_frames: int  # frames L+1..K-1 from another recording, dropped


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

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except OSError as error:
        raise AuthorsDataError(f"{path} is not a readable image: {error}") from error


def _read_frames(folder: Path, numbers: np.ndarray | range) -> np.ndarray:
    frames = []
    for k in numbers:
        frame = _read_frame(folder / f"{k}.jpeg")
        if frames and frame.shape != frames[0].shape:
            raise AuthorsDataError(f"{folder / f'{k}.jpeg'} is {frame.shape[:2]}, the other frames {frames[0].shape[:2]}")
        frames.append(frame)
    return np.stack(frames)


def _check_interaction(root: str | Path, id: int, action: str, max_stale_frames: int):
    """Read and check the tables of one interaction; return (folder, tables, lengths, stale)."""
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
    rows = lengths["joint"]
    if lengths["endpoint"] != rows or lengths["object"] != rows:
        raise AuthorsDataError(
            f"interaction {id}/{action} in {folder}: tables have {lengths['joint']} (joint_{id}.txt), "
            f"{lengths['endpoint']} (endpoint_{id}.txt) and {lengths['object']} (object_{id}.txt) rows; "
            "accepted: the same number of rows in all three"
        )
    if rows < 2:
        raise AuthorsDataError(f"interaction {id}/{action} in {folder} has only {rows} row(s); accepted: at least 2")
    stale = lengths["frames"] - rows - 1
    if stale < 0:
        raise AuthorsDataError(
            f"interaction {id}/{action} in {folder}: {lengths['frames']} frames for {rows} rows; accepted: rows + 1 "
            f"frames (frame k+1 pairs with row k) plus at most max_stale_frames={max_stale_frames} stale ones"
        )
    if stale > max_stale_frames:
        raise AuthorsDataError(
            f"interaction {id}/{action} in {folder}: {lengths['frames']} frames for {rows} rows, i.e. {stale} frames "
            f"after frame {rows}; accepted: at most max_stale_frames={max_stale_frames} stale frames (the released "
            "data have at most 24); the data look corrupt (or raise the limit knowingly)"
        )
    return folder, tables, lengths, stale


def load_interaction(root: str | Path, id: int, action: str, max_stale_frames: int = MAX_STALE_FRAMES) -> Interaction:
    """Read one ``<root>/<id>/<action>/`` folder under the pairing and stale-frame policy of this module."""
    folder, tables, lengths, stale = _check_interaction(root, id, action, max_stale_frames)
    images = _read_frames(folder, range(1, lengths["joint"] + 1))
    return Interaction(id, action, images, tables["joint"], tables["endpoint"], tables["object"], lengths, stale)


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


def read_authors_conditions(tests_dir: str | Path) -> dict[str, dict[tuple[int, str], int]]:
    """The authors' conditioning steps: ``{"validation": {(id, action): t}, "test": {...}}``.

    ``t`` is a row index of the interaction (its frame is ``t+1``). Each file must list only ids of its
    split (validation 40-44, test 45-49), each ``(id, action)`` once.
    """
    tests_dir = Path(tests_dir)
    out: dict[str, dict[tuple[int, str], int]] = {}
    for split, name in CONDITION_FILES.items():
        rows = read_conditions(tests_dir / name)
        table: dict[tuple[int, str], int] = {}
        for i, a, t in rows:
            if i not in SPLITS[split]:
                raise AuthorsDataError(f"{tests_dir / name}: id {i} is not a {split} id "
                                       f"({SPLITS[split].start}-{SPLITS[split].stop - 1})")
            if (i, a) in table:
                raise AuthorsDataError(f"{tests_dir / name}: {i}/{a} is listed twice")
            table[(i, a)] = t
        out[split] = table
    return out


def resample_indices(length: int, n_steps: int) -> np.ndarray:
    """``n_steps`` evenly spaced indices into ``0..length-1`` (nearest step)."""
    return np.rint(np.linspace(0, length - 1, n_steps)).astype(np.int64)


def stale_report(data: dict[str, np.ndarray]) -> str:
    """One line: how many stale frames :func:`load_authors_dataset` dropped, and where."""
    hit = np.flatnonzero(data["stale_frames"] > 0)
    names = {v: k for k, v in ACTIONS.items()}
    where = ", ".join(f"{data['id'][i]}/{names[int(data['action'][i])]}: {data['stale_frames'][i]}" for i in hit)
    return (f"{len(data['id'])} interactions, {int(data['length'].min())}-{int(data['length'].max())} rows; dropped "
            f"{int(data['stale_frames'].sum())} stale frames in {len(hit)} interactions" + (f" ({where})" if where else ""))


def load_authors_dataset(
    root: str | Path,
    n_steps: int = 50,
    image_size: int = 128,
    ids: range | list[int] | None = None,
    tests_dir: str | Path | None = None,
    max_stale_frames: int = MAX_STALE_FRAMES,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """All interactions of ``ids`` (default 0-49, both actions) in the data contract's array layout.

    Returns ``images`` uint8 (N, n_steps, S, S, 3), ``joints`` float32 (N, n_steps, 7), ``t`` (n_steps,),
    ``action`` (N,) (0 = push/"move", 1 = grasp), ``id`` (N,), ``split`` (N,) (0 train, 1 validation,
    2 test), ``length`` (N,) (rows L before resampling), ``frames`` (N,) (frame files, L + 1 + stale),
    ``stale_frames`` (N,) (dropped), ``object_xyz`` (N, n_steps, 3), ``endpoint`` (N, n_steps, 7),
    ``cond_row`` (N,): the authors' conditioning row from ``tests/validation.txt`` or ``tests/test.txt``
    (-1 for interactions they do not list) and ``cond_step`` (N,): that row mapped onto the resampled
    grid (nearest step; -1 likewise). ``tests_dir`` defaults to ``root/../../tests``; when it is given
    explicitly its two files must exist, when it is not and they are absent every condition is -1.
    Only the frames the resampled grid needs are decoded.
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
    if tests_dir is not None or all((tests / name).is_file() for name in CONDITION_FILES.values()):
        for table in read_authors_conditions(tests).values():
            conditions.update(table)
    keys = [(i, a) for i in ids for a in ("grasp", "move")]
    keys = track(keys, "authors' data", progress=progress, leave=False)
    out: dict[str, list] = {k: [] for k in ("images", "joints", "object_xyz", "endpoint", "action", "id", "split",
                                             "length", "frames", "stale_frames", "cond_row", "cond_step")}
    for i, a in keys:
        folder, tables, lengths, stale = _check_interaction(root, i, a, max_stale_frames)
        length = lengths["joint"]
        idx = resample_indices(length, n_steps)
        out["images"].append(resize_images(_read_frames(folder, idx + 1), image_size))  # frame k+1 <-> row k
        out["joints"].append(tables["joint"][idx])
        out["object_xyz"].append(tables["object"][idx])
        out["endpoint"].append(tables["endpoint"][idx])
        out["action"].append(ACTIONS[a])
        out["id"].append(i)
        out["split"].append(next(s for s, (name, r) in enumerate(SPLITS.items()) if i in r) if 0 <= i < 50 else 0)
        out["length"].append(length)
        out["frames"].append(lengths["frames"])
        out["stale_frames"].append(stale)
        t_raw = conditions.get((i, a))
        if t_raw is None:
            out["cond_row"].append(-1)
            out["cond_step"].append(-1)
        else:
            if not 0 <= t_raw < length:
                raise AuthorsDataError(f"condition step {t_raw} for {i}/{a} is outside its {length} rows (0-{length - 1})")
            out["cond_row"].append(t_raw)
            out["cond_step"].append(int(np.abs(idx - t_raw).argmin()))
    ints = ("action", "id", "split", "length", "frames", "stale_frames", "cond_row", "cond_step")
    return {
        "images": np.stack(out["images"]),
        "joints": np.stack(out["joints"]).astype(np.float32),
        "t": np.linspace(0.0, 1.0, n_steps, dtype=np.float32),
        "object_xyz": np.stack(out["object_xyz"]).astype(np.float32),
        "endpoint": np.stack(out["endpoint"]).astype(np.float32),
        **{k: np.asarray(out[k], dtype=np.int64) for k in ints},
    }
