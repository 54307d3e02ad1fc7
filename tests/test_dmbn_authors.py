"""The loader of the DMBN authors' dataset: on a small synthetic folder that mimics the released data's
quirks, and on the released data themselves where ``../shared/dmbn-authors`` sits beside the checkout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sensorimotor.dmbn.authors_data import (
    AuthorsDataError,
    load_authors_dataset,
    load_interaction,
    read_authors_conditions,
    read_conditions,
    resample_indices,
    stale_report,
)

AUTHORS = Path(__file__).resolve().parents[1].parent / "shared" / "dmbn-authors"
STALE_GRASPS = {0: 5, 2: 3, 4: 12, 5: 24, 6: 8, 8: 19, 9: 6}  # id: frames after frame L (released copy)


def grey(frame: int) -> int:
    """Grey level of recorded frame ``frame`` in the synthetic folder (frame k+1 shows row k)."""
    return 10 + 8 * frame


def write_interaction(root: Path, id: int, action: str, rows: int, stale: int = 0, size: int = 16,
                      joint_cols: int = 7, skip_frame: int | None = None, frames: int | None = None) -> None:
    """An interaction as the authors recorded it: ``rows + 1`` frames (frame 0 before row 0, frame k+1
    with row k, grey level ``grey(k+1)``; joint column 0 of row k is k), then ``stale`` frames of another
    recording (pure red). ``frames`` overrides the recorded count (to make corrupt folders)."""
    folder = root / str(id) / action
    folder.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(id * 2 + (action == "grasp"))
    recorded = rows + 1 if frames is None else frames
    for k in range(recorded + stale):
        if k == skip_frame:
            continue
        pixel = (grey(k),) * 3 if k < recorded else (255, 0, 0)
        Image.fromarray(np.full((size, size, 3), pixel, dtype=np.uint8)).save(folder / f"{k}.jpeg")
    joints = np.column_stack([np.arange(rows, dtype=float)] + [np.linspace(0, 1, rows) + j for j in range(1, joint_cols)])
    np.savetxt(folder / f"joint_{id}.txt", joints)
    np.savetxt(folder / f"endpoint_{id}.txt", g.normal(size=(rows, 7)))
    np.savetxt(folder / f"object_{id}.txt", g.normal(size=(rows, 3)))


@pytest.fixture
def authors_repo(tmp_path: Path) -> Path:
    """<repo>/data/data2020/<id>/<action>/ for ids 0-2, 40 and 45, plus <repo>/tests/{test,validation}.txt.
    Grasps 0 and 2 carry stale frames, as seven grasps of the released data do."""
    root = tmp_path / "repo" / "data" / "data2020"
    for i in (0, 1, 2, 40, 45):
        write_interaction(root, i, "grasp", rows=10, stale={0: 4, 2: 2}.get(i, 0))
        write_interaction(root, i, "move", rows=9)
    tests = tmp_path / "repo" / "tests"
    tests.mkdir()
    (tests / "test.txt").write_text("45 1 6\n45 0 4\n")
    (tests / "validation.txt").write_text("40 1 3\n40 0 8\n")
    return root


def test_interaction_pairs_frame_k_plus_1_with_row_k_and_drops_stale_frames(authors_repo):
    inter = load_interaction(authors_repo, 0, "grasp")
    assert inter.lengths == {"frames": 15, "joint": 10, "endpoint": 10, "object": 10}
    assert inter.stale_frames == 4
    assert inter.images.shape == (10, 16, 16, 3) and inter.images.dtype == np.uint8
    assert inter.joints.shape == (10, 7) and inter.object_xyz.shape == (10, 3) and inter.endpoint.shape == (10, 7)
    np.testing.assert_array_equal(inter.joints[:, 0], np.arange(10))
    levels = inter.images[:, 8, 8].astype(int)
    np.testing.assert_allclose(levels, np.repeat([[grey(k + 1)] for k in range(10)], 3, axis=1), atol=3)  # no red
    assert load_interaction(authors_repo, 1, "move").stale_frames == 0


def test_dataset_layout_splits_conditions_and_stale_counts(authors_repo):
    data = load_authors_dataset(authors_repo, n_steps=5, image_size=8, ids=[0, 1, 2, 40, 45])
    assert data["images"].shape == (10, 5, 8, 8, 3) and data["joints"].shape == (10, 5, 7)
    np.testing.assert_allclose(data["t"], np.linspace(0, 1, 5))
    assert data["action"].tolist() == [1, 0] * 5  # grasp = 1, move (push) = 0
    assert data["split"].tolist() == [0] * 6 + [1, 1, 2, 2]
    assert data["length"].tolist() == [10, 9] * 5
    assert data["stale_frames"].tolist() == [4, 0, 0, 0, 2, 0, 0, 0, 0, 0]
    assert (data["frames"] == data["length"] + 1 + data["stale_frames"]).all()
    assert stale_report(data).endswith("dropped 6 stale frames in 2 interactions (0/grasp: 4, 2/grasp: 2)")
    # validation (40) and test (45) conditions; 45 grasp: row 6 of 10 -> grid [0, 2, 4, 7, 9] -> step 3 (7)
    assert data["cond_row"].tolist() == [-1] * 6 + [3, 8, 6, 4]
    assert data["cond_step"].tolist() == [-1] * 6 + [1, 4, 3, 2]
    # joints and frames resampled with the same indices, frame k+1 with row k
    idx = resample_indices(10, 5)
    np.testing.assert_allclose(data["joints"][0, :, 0], idx)
    np.testing.assert_allclose(data["images"][0, :, 4, 4, 1].astype(int), [grey(k + 1) for k in idx], atol=3)


def test_authors_conditions_by_split(authors_repo):
    tests = authors_repo.parent.parent / "tests"
    assert read_authors_conditions(tests) == {"validation": {(40, "grasp"): 3, (40, "move"): 8},
                                              "test": {(45, "grasp"): 6, (45, "move"): 4}}
    (tests / "validation.txt").write_text("45 1 3\n")
    with pytest.raises(AuthorsDataError, match="id 45 is not a validation id"):
        read_authors_conditions(tests)
    (tests / "validation.txt").write_text("40 1 3\n40 1 4\n")
    with pytest.raises(AuthorsDataError, match="listed twice"):
        read_authors_conditions(tests)
    (tests / "validation.txt").unlink()
    with pytest.raises(AuthorsDataError, match="missing condition file"):
        load_authors_dataset(authors_repo, n_steps=5, image_size=8, ids=[45], tests_dir=tests)
    # not given and absent at the default place: no conditions
    assert (load_authors_dataset(authors_repo, n_steps=5, image_size=8, ids=[45])["cond_step"] == -1).all()


def test_corrupt_frame_counts_fail_clearly(authors_repo):
    write_interaction(authors_repo, 3, "grasp", rows=10, stale=41)
    with pytest.raises(AuthorsDataError, match=r"41 frames after frame 10.*max_stale_frames=40"):
        load_interaction(authors_repo, 3, "grasp")
    assert load_interaction(authors_repo, 3, "grasp", max_stale_frames=41).stale_frames == 41
    write_interaction(authors_repo, 3, "move", rows=10, frames=10)  # one frame short of rows + 1
    with pytest.raises(AuthorsDataError, match=r"3/move.*10 frames for 10 rows; accepted: rows \+ 1 frames"):
        load_interaction(authors_repo, 3, "move")
    write_interaction(authors_repo, 6, "move", rows=10)
    np.savetxt(authors_repo / "6" / "move" / "object_6.txt", np.zeros((9, 3)))
    with pytest.raises(AuthorsDataError, match=r"object_6.txt\) rows; accepted: the same number of rows"):
        load_interaction(authors_repo, 6, "move")


def test_bad_layouts_fail_clearly(authors_repo, tmp_path):
    write_interaction(authors_repo, 4, "grasp", rows=10, skip_frame=3)
    with pytest.raises(AuthorsDataError, match="gaps"):
        load_interaction(authors_repo, 4, "grasp")
    write_interaction(authors_repo, 5, "move", rows=10, joint_cols=6)
    with pytest.raises(AuthorsDataError, match="6 columns, expected 7"):
        load_interaction(authors_repo, 5, "move")
    write_interaction(authors_repo, 5, "grasp", rows=10)
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(authors_repo / "5" / "grasp" / "4.jpeg")
    with pytest.raises(AuthorsDataError, match=r"4.jpeg is \(8, 8\), the other frames \(16, 16\)"):
        load_interaction(authors_repo, 5, "grasp")
    with pytest.raises(AuthorsDataError, match="missing folder"):
        load_interaction(authors_repo, 7, "move")
    with pytest.raises(AuthorsDataError, match="unknown action"):
        load_interaction(authors_repo, 0, "pull")
    with pytest.raises(AuthorsDataError, match="does not exist"):
        load_authors_dataset(tmp_path / "nowhere")
    bad = tmp_path / "bad.txt"
    bad.write_text("45 2 6\n")
    with pytest.raises(AuthorsDataError, match="action 0 or 1"):
        read_conditions(bad)


# --- the released data ------------------------------------------------------------------------------

released = pytest.mark.skipif(not (AUTHORS / "data" / "data2020").is_dir(),
                              reason=f"the authors' released data are not at {AUTHORS}")


@released
def test_released_data_load_as_the_chapter_loads_them():
    data = load_authors_dataset(AUTHORS / "data" / "data2020", n_steps=50, image_size=32)
    assert data["images"].shape == (100, 50, 32, 32, 3) and data["joints"].shape == (100, 50, 7)
    assert data["endpoint"].shape == (100, 50, 7) and data["object_xyz"].shape == (100, 50, 3)
    assert np.bincount(data["action"]).tolist() == [50, 50] and np.bincount(data["split"]).tolist() == [80, 10, 10]
    assert data["length"].min() == 34 and data["length"].max() == 114
    stale = {int(i): int(s) for i, s in zip(data["id"], data["stale_frames"], strict=True) if s}
    assert stale == STALE_GRASPS and all(data["action"][data["stale_frames"] > 0] == 1)
    assert (data["frames"] == data["length"] + 1 + data["stale_frames"]).all()
    assert "dropped 77 stale frames in 7 interactions" in stale_report(data)
    # gripper: about 0 on pushes, down to about -0.112 on grasps
    assert np.abs(data["joints"][data["action"] == 0, :, 6]).max() < 0.01
    assert data["joints"][data["action"] == 1, :, 6].min() < -0.1
    # the authors' validation and test conditioning steps, for ids 40-49 only
    listed = data["cond_step"] >= 0
    assert data["id"][listed].tolist() == sorted(data["id"][data["split"] > 0].tolist())
    assert ((data["cond_step"][listed] >= 0) & (data["cond_step"][listed] < 50)).all()
    assert (data["cond_row"][listed] < data["length"][listed]).all()


@released
def test_released_conditions_by_split():
    conditions = read_authors_conditions(AUTHORS / "tests")
    assert {k: len(v) for k, v in conditions.items()} == {"validation": 10, "test": 10}
    assert conditions["test"][(45, "grasp")] == 68 and conditions["validation"][(40, "move")] == 65


@released
def test_released_pairing_and_stale_frames_of_5_grasp():
    folder = AUTHORS / "data" / "data2020" / "5" / "grasp"
    inter = load_interaction(folder.parents[1], 5, "grasp")
    assert inter.lengths == {"frames": 84, "joint": 59, "endpoint": 59, "object": 59} and inter.stale_frames == 24
    assert inter.images.shape == (59, 128, 128, 3)
    np.testing.assert_array_equal(inter.joints, np.loadtxt(folder / "joint_5.txt").astype(np.float32))

    def frame(k: int) -> np.ndarray:
        return np.asarray(Image.open(folder / f"{k}.jpeg").convert("RGB"))

    for k in (0, 30, 58):  # step k holds frame k+1
        np.testing.assert_array_equal(inter.images[k], frame(k + 1))
    # frame 60 (the first dropped) is from another recording: the jump to it dwarfs every step kept
    steps = np.abs(np.diff(inter.images.astype(float), axis=0)).mean(axis=(1, 2, 3))
    jump = np.abs(frame(60).astype(float) - inter.images[-1]).mean()
    assert jump > 3 * steps.max()


def test_find_authors_data_explicit_auto_env_and_off(tmp_path, monkeypatch):
    from sensorimotor.dmbn.authors_data import HAND_OUT, find_authors_data

    monkeypatch.delenv("DMBN_AUTHORS_DATA", raising=False)
    assert find_authors_data(None) is None
    checkout = tmp_path / "work" / "checkout"
    checkout.mkdir(parents=True)
    assert find_authors_data("auto", root=checkout) is None  # nothing handed out: skipped, no error
    above = tmp_path / HAND_OUT  # a hand-out two folders up (e.g. above an unrelated temp folder) is not looked for
    above.mkdir(parents=True)
    assert find_authors_data("auto", root=checkout) is None
    hand_out = tmp_path / "work" / HAND_OUT
    hand_out.mkdir(parents=True)
    assert find_authors_data("auto", root=checkout) == hand_out.resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("DMBN_AUTHORS_DATA", str(elsewhere))
    assert find_authors_data("auto", root=checkout) == elsewhere.resolve()  # the variable comes first
    monkeypatch.setenv("DMBN_AUTHORS_DATA", str(tmp_path / "missing"))
    with pytest.raises(AuthorsDataError, match="DMBN_AUTHORS_DATA"):
        find_authors_data("auto", root=checkout)
    assert find_authors_data(str(elsewhere)) == elsewhere.resolve()
    with pytest.raises(AuthorsDataError, match="not a folder"):
        find_authors_data(str(tmp_path / "missing"))


def test_fingerprint_follows_the_files_not_the_path(authors_repo, tmp_path):
    import shutil

    from sensorimotor.dmbn.authors_data import fingerprint

    copy = tmp_path / "copy"
    shutil.copytree(authors_repo.parent.parent, copy)
    moved = copy / authors_repo.relative_to(authors_repo.parent.parent)
    assert fingerprint(moved) == fingerprint(authors_repo)
    (moved / "0" / "grasp" / "joint_0.txt").write_text("1 2 3 4 5 6 7\n")
    assert fingerprint(moved) != fingerprint(authors_repo)
