"""The multisensory scene simulator: objects, exact ray casting, rendering, the haptic hand."""

from __future__ import annotations

import numpy as np
import pytest

from sensorimotor.gmn.hand_sim import (
    HandSpec,
    grasp,
    grasp_shapes,
    haptic_feature_names,
    haptic_halves,
    sample_hand_poses,
)
from sensorimotor.gmn.scene_sim import (
    AMBIENT,
    LIGHT_DIRECTION,
    CameraSpec,
    SceneObject,
    per_row_centres,
    random_object,
    ray_cast,
    render_views,
    sample_viewpoints,
    segments_hit,
)

ONE_CUBE = SceneObject(centres=np.zeros((1, 3)), colours=np.array([[0.8, 0.4, 0.2]]))


def hand_query(position) -> np.ndarray:
    position = np.asarray(position, dtype=float)
    r = np.linalg.norm(position)
    yaw, pitch = np.arctan2(position[1], position[0]), np.arcsin(position[2] / r)
    return np.array([[*position, np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)]])


@pytest.mark.parametrize("n_parts", [1, 4, 5, 6])
def test_random_object_is_a_centred_face_connected_chain(n_parts):
    obj = random_object(np.random.default_rng(n_parts), n_parts)
    assert obj.centres.shape == (n_parts, 3) and obj.colours.shape == (n_parts, 3)
    np.testing.assert_allclose(obj.centres.mean(axis=0), 0.0, atol=1e-12)
    steps = np.abs(np.diff(obj.centres, axis=0)).sum(axis=1)
    np.testing.assert_allclose(steps, 1.0)  # each cube shares a face with the previous one
    assert len({tuple(np.round(c, 6)) for c in obj.centres}) == n_parts  # no two cubes overlap
    assert ((obj.colours >= 0) & (obj.colours <= 1)).all()


def test_random_object_rejects_bad_part_counts():
    with pytest.raises(ValueError, match="n_parts"):
        random_object(np.random.default_rng(0), 0)


def test_ray_cast_hits_the_near_face_with_its_normal():
    t, cube, normal = ray_cast(np.array([[5.0, 0.1, -0.2], [5.0, 3.0, 0.0]]), np.array([[-1.0, 0, 0], [-1.0, 0, 0]]), ONE_CUBE.centres)
    assert t[0] == pytest.approx(4.5) and cube[0] == 0
    np.testing.assert_allclose(normal[0], [1, 0, 0])
    assert np.isinf(t[1]) and cube[1] == -1 and not normal[1].any()


def test_ray_cast_agrees_with_pybullet():
    pybullet = pytest.importorskip("pybullet")
    obj = random_object(np.random.default_rng(3), 5)
    gen = np.random.default_rng(4)
    starts = gen.normal(size=(200, 3))
    starts = 6 * starts / np.linalg.norm(starts, axis=1, keepdims=True)
    ends = gen.uniform(-1.5, 1.5, size=(200, 3))
    client = pybullet.connect(pybullet.DIRECT)
    try:
        box = pybullet.createCollisionShape(pybullet.GEOM_BOX, halfExtents=[0.5] * 3, physicsClientId=client)
        for c in obj.centres:
            pybullet.createMultiBody(0, box, basePosition=c.tolist(), physicsClientId=client)
        results = pybullet.rayTestBatch(starts.tolist(), ends.tolist(), physicsClientId=client)
    finally:
        pybullet.disconnect(client)
    t, _, _ = ray_cast(starts, ends - starts, obj.centres)
    ours_hit = t <= 1.0
    theirs_hit = np.array([r[0] >= 0 for r in results])
    theirs_t = np.array([r[2] for r in results])
    assert (ours_hit == theirs_hit).mean() >= 0.98  # pybullet pads shapes by a collision margin
    both = ours_hit & theirs_hit
    assert both.sum() > 20
    np.testing.assert_allclose(t[both], theirs_t[both], atol=0.02)


def test_segments_hit():
    starts = np.array([[2.0, 0, 0], [2.0, 0, 0], [0.2, 0.1, 0.0]])
    ends = np.array([[0.4, 0, 0], [0.6, 0, 0], [0.3, 0.1, 0.0]])
    assert segments_hit(starts, ends, ONE_CUBE.centres).tolist() == [True, False, True]


def test_render_shades_a_face_by_lambert_and_keeps_background_black():
    query = np.array([[6.5, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]])  # on +x, looking at the origin
    image = render_views(ONE_CUBE, query, image_size=16, supersample=1)
    assert image.shape == (1, 16, 16, 3) and image.dtype == np.uint8
    shade = AMBIENT + (1 - AMBIENT) * max(0.0, LIGHT_DIRECTION[0])
    np.testing.assert_allclose(image[0, 8, 8] / 255, ONE_CUBE.colours[0] * shade, atol=1 / 255)
    assert not image[0, 0, 0].any() and not image[0, -1, -1].any()


def test_render_is_reproducible_and_object_is_in_view():
    obj = random_object(np.random.default_rng(1), 5)
    queries = sample_viewpoints(np.random.default_rng(2), 6)
    first = render_views(obj, queries, 32)
    np.testing.assert_array_equal(first, render_views(obj, queries, 32))
    assert (first.reshape(6, -1, 3).max(axis=2) > 0).mean(axis=1).min() > 0.03  # every view shows the object
    border = np.concatenate([first[:, 0], first[:, -1], first[:, :, 0], first[:, :, -1]], axis=1)
    assert border.mean() < 5  # and it fits in the frame (almost no object pixel on the border)


def test_render_rejects_bad_queries():
    with pytest.raises(ValueError, match=r"\(n, 7\)"):
        render_views(ONE_CUBE, np.zeros((2, 5)), 32)


def test_queries_are_gqn_style():
    q = sample_viewpoints(np.random.default_rng(0), 50)
    assert q.shape == (50, 7)
    np.testing.assert_allclose(np.linalg.norm(q[:, :3], axis=1), CameraSpec().radius, rtol=1e-5)
    np.testing.assert_allclose(q[:, 3] ** 2 + q[:, 4] ** 2, 1, rtol=1e-5)
    np.testing.assert_allclose(q[:, 5] ** 2 + q[:, 6] ** 2, 1, rtol=1e-5)


def test_hand_far_from_the_object_closes_fully_and_feels_nothing():
    sense = grasp(ONE_CUBE, hand_query([50.0, 0.0, 0.0]))
    hand = HandSpec()
    assert sense.shape == (1, hand.sense_dim) == (1, 59)
    fingers = sense[0, :50].reshape(5, 10)
    np.testing.assert_allclose(fingers[:, :3], 1.0)  # all joints at their limit
    assert not fingers[:, 3:9].any()  # no contact, no pressure
    np.testing.assert_allclose(fingers[:, 9], 1.0)  # nothing within the fingertip ray's range
    np.testing.assert_allclose(sense[0, 50:], 1.0)  # nor within the palm rays' range


def test_palm_rays_measure_the_distance_to_the_object():
    wall = SceneObject(  # a 3x3 wall of cubes in the y-z plane: every palm ray hits its +x face
        centres=np.array([[0.0, y, z] for y in (-1, 0, 1) for z in (-1, 0, 1)]), colours=np.ones((9, 3))
    )
    sense = grasp(wall, hand_query([3.5, 0.0, 0.0]))
    np.testing.assert_allclose(sense[0, 50:], (3.5 - 0.5) / HandSpec().palm_range, atol=1e-6)


def test_grasps_on_objects_make_contact_and_stay_in_range():
    gen = np.random.default_rng(0)
    senses = np.concatenate([grasp(random_object(gen, 5), sample_hand_poses(gen, 15)) for _ in range(6)])
    assert ((senses >= 0) & (senses <= 1)).all()
    contacts = senses[:, :50].reshape(-1, 5, 10)[:, :, 3:6]
    assert 0.2 < contacts.any(axis=2).mean() < 0.95  # fingers touch often, but not always
    # a touching phalanx is blocked: its joints stop short of the limit
    touched = contacts.any(axis=2)
    angles = senses[:, :50].reshape(-1, 5, 10)[:, :, :3]
    assert (angles[touched].min(axis=1) < 1.0).all()


def test_grasp_is_deterministic_and_rejects_bad_queries():
    obj = random_object(np.random.default_rng(5), 5)
    poses = sample_hand_poses(np.random.default_rng(6), 4)
    np.testing.assert_array_equal(grasp(obj, poses), grasp(obj, poses))
    with pytest.raises(ValueError, match=r"\(n, 7\)"):
        grasp(obj, np.zeros((3, 6)))


def test_grasping_several_shapes_at_once_equals_one_at_a_time(monkeypatch):
    gen = np.random.default_rng(7)
    objects = [random_object(gen, n) for n in (4, 6, 1, 5)]  # different sizes: the shorter ones are padded
    poses = sample_hand_poses(gen, 4 * 3).reshape(4, 3, 7)
    one_by_one = np.stack([grasp(obj, q) for obj, q in zip(objects, poses, strict=True)])
    monkeypatch.setattr("sensorimotor.gmn.hand_sim.GRASP_CHUNK", 5)  # chunks that cut through a shape's queries
    together = grasp_shapes([obj.centres for obj in objects], poses)
    np.testing.assert_array_equal(together, one_by_one)
    with pytest.raises(ValueError, match=r"B = 3 shapes"):
        grasp_shapes([obj.centres for obj in objects[:3]], poses)
    assert grasp(objects[0], np.zeros((0, 7))).shape == (0, HandSpec().sense_dim)  # no queries, no senses


def test_ray_tests_with_each_rays_own_object_equal_the_shared_form():
    gen = np.random.default_rng(8)
    a, b = random_object(gen, 3), random_object(gen, 6)
    origins = gen.normal(size=(6, 3)) * 0.3 + [6.0, 0.0, 0.0]
    directions = np.tile([-1.0, 0.0, 0.0], (6, 1)) + gen.normal(size=(6, 3)) * 0.05
    per_row = np.repeat(per_row_centres([a.centres, b.centres]), 3, axis=0)  # rays 0-2 see a, 3-5 see b
    for got, want_a, want_b in zip(ray_cast(origins, directions, per_row), ray_cast(origins[:3], directions[:3], a.centres),
                                   ray_cast(origins[3:], directions[3:], b.centres), strict=True):  # fmt: skip
        np.testing.assert_array_equal(got, np.concatenate([want_a, want_b]))
    ends = origins + 8 * directions
    np.testing.assert_array_equal(segments_hit(origins, ends, per_row),
                                  np.concatenate([segments_hit(origins[:3], ends[:3], a.centres),
                                                  segments_hit(origins[3:], ends[3:], b.centres)]))  # fmt: skip
    with pytest.raises(ValueError, match=r"\(6, K, 3\)"):
        ray_cast(origins, directions, per_row[:4])
    with pytest.raises(ValueError, match="non-empty"):
        per_row_centres([a.centres, np.zeros((0, 3))])


def test_haptic_names_and_halves_cover_the_sense():
    names = haptic_feature_names()
    assert len(names) == HandSpec().sense_dim and len(set(names)) == len(names)
    first, second = haptic_halves()
    assert sorted([*first, *second]) == list(range(len(names)))
    assert names[first[0]].startswith("thumb") and names[second[-1]].startswith("palm")
