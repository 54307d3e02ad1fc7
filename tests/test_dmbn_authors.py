"""The loader of the DMBN authors' dataset, on a small synthetic folder in the authors' layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sensorimotor.dmbn.authors_data import (
    AuthorsDataError,
    load_authors_dataset,
    load_interaction,
    read_conditions,
    resample_indices,
)


def write_interaction(root: Path, id: int, action: str, frames: int, rows: int, size: int = 16,
                      joint_cols: int = 7, skip_frame: int | None = None) -> None:
    folder = root / str(id) / action
    folder.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(id * 2 + (action == "grasp"))
    for k in range(frames):
        if k == skip_frame:
            continue
        value = int(255 * k / max(frames - 1, 1))
        Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(folder / f"{k}.jpeg")
    joints = np.column_stack([np.linspace(0, 1, rows) + j for j in range(joint_cols)])
    np.savetxt(folder / f"joint_{id}.txt", joints)
    np.savetxt(folder / f"endpoint_{id}.txt", g.normal(size=(rows, 7)))
    np.savetxt(folder / f"object_{id}.txt", g.normal(size=(rows, 3)))


@pytest.fixture
def authors_repo(tmp_path: Path) -> Path:
    """<repo>/data/data2020/<id>/<action>/ for ids 0-2 and 45, plus <repo>/tests/test.txt."""
    root = tmp_path / "repo" / "data" / "data2020"
    for i in (0, 1, 2, 45):
        write_interaction(root, i, "grasp", frames=12, rows=10)  # 2 extra frames, as in the real data
        write_interaction(root, i, "move", frames=9, rows=9)
    tests = tmp_path / "repo" / "tests"
    tests.mkdir()
    (tests / "test.txt").write_text("45 1 6\n45 0 4\n")
    return root


def test_interaction_truncates_to_the_common_length(authors_repo):
    inter = load_interaction(authors_repo, 0, "grasp")
    assert inter.lengths == {"frames": 12, "joint": 10, "endpoint": 10, "object": 10}
    assert inter.images.shape == (10, 16, 16, 3) and inter.images.dtype == np.uint8
    assert inter.joints.shape == (10, 7) and inter.object_xyz.shape == (10, 3)
    # frames kept are the first ones (frame k has grey level 255 k / 11)
    assert abs(int(inter.images[9, 0, 0, 0]) - round(255 * 9 / 11)) <= 3


def test_dataset_layout_splits_and_condition_steps(authors_repo):
    data = load_authors_dataset(authors_repo, n_steps=5, image_size=8, ids=[0, 1, 2, 45])
    assert data["images"].shape == (8, 5, 8, 8, 3) and data["joints"].shape == (8, 5, 7)
    np.testing.assert_allclose(data["t"], np.linspace(0, 1, 5))
    assert data["action"].tolist() == [1, 0] * 4  # grasp = 1, move (push) = 0
    assert data["split"].tolist() == [0] * 6 + [2, 2]
    assert data["length"].tolist() == [10, 9] * 4
    # 45 grasp: raw step 6 of 10 -> resampled grid [0, 2, 4, 7, 9] -> nearest index 2 (4) or 3 (7)
    assert data["cond_step"].tolist() == [-1] * 6 + [3, 2]
    # joints resampled with the same indices as frames
    np.testing.assert_allclose(data["joints"][0, :, 0], np.linspace(0, 1, 10)[resample_indices(10, 5)], rtol=1e-5)


def test_too_large_length_mismatch_fails_clearly(authors_repo):
    write_interaction(authors_repo, 3, "grasp", frames=30, rows=10)
    with pytest.raises(AuthorsDataError, match="max_length_mismatch"):
        load_interaction(authors_repo, 3, "grasp")
    assert load_interaction(authors_repo, 3, "grasp", max_length_mismatch=25).joints.shape == (10, 7)


def test_bad_layouts_fail_clearly(authors_repo, tmp_path):
    write_interaction(authors_repo, 4, "grasp", frames=10, rows=10, skip_frame=3)
    with pytest.raises(AuthorsDataError, match="gaps"):
        load_interaction(authors_repo, 4, "grasp")
    write_interaction(authors_repo, 5, "move", frames=10, rows=10, joint_cols=6)
    with pytest.raises(AuthorsDataError, match="6 columns, expected 7"):
        load_interaction(authors_repo, 5, "move")
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
