"""A five-fingered hand that closes on a scene object: the haptic sense of the multisensory scenes.

The hand is kinematic (nothing in the scene moves, so no physics engine is needed):

* **Query** (7 numbers, like the camera's): the palm centre on a sphere shell around the object, plus
  cos/sin of the yaw and pitch of that position. The palm faces the object centre; its roll is fixed
  (thumb pointing to the world's "down" as seen from the hand).
* **Fingers**: a thumb opposing four fingers, their bases on a circle in the palm plane; each finger has
  three phalanges and three flexion joints that curl it towards the palm axis. Closing is *adaptive*
  (like an underactuated prosthetic finger): all joints of a finger flex together until a phalanx
  touches the object; that phalanx and the ones before it stop, the distal joints keep flexing until
  they touch too or reach their limit.
* **Sense** (59 numbers, all in [0, 1]): per finger (10 each, thumb, index, middle, ring, little)
  the three joint angles (the hand's own configuration, / joint limit), three phalanx contact flags,
  three pressure proxies (the flexion a blocked joint still commands: (limit - angle at contact) /
  limit) and the distance seen by a proximity ray along the fingertip (/ range, 1 = nothing in range);
  plus a 3x3 grid of palm proximity rays along the approach axis (/ range).

The paper's MPL hand in MuJoCo HAPTIX gives 132 numbers: 22 joint positions, 22 joint velocities, 13
actuator positions, velocities and forces each, 15 accelerometer and 15 gyro values and 19 touch
sensors. Our hand has no dynamics (no velocities, forces, IMU), fewer joints (15 vs 22) and 5x3
phalanx contacts instead of 19 touch pads, but keeps the ingredients that carry shape information:
where the fingers stop, which phalanges touch, how hard they are blocked, and proximity.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sensorimotor.gmn.scene_sim import (
    SceneObject,
    look_at_frame,
    per_row_centres,
    pose_query,
    ray_cast,
    segments_hit,
    sphere_position,
)

FINGERS = ("thumb", "index", "middle", "ring", "little")
PER_FINGER = ("joint1", "joint2", "joint3", "contact1", "contact2", "contact3", "pressure1", "pressure2",
              "pressure3", "tip_distance")  # fmt: skip
PALM_RAYS = 9
GRASP_CHUNK = 4096  # queries simulated together by grasp_shapes (bounds its memory to a few hundred MB)


@dataclasses.dataclass(frozen=True)
class HandSpec:
    """Geometry of the hand and of the poses it is placed at (world units: one cube = 1)."""

    finger_angles_deg: tuple[float, ...] = (-90.0, 30.0, 70.0, 110.0, 150.0)  # thumb first, in the palm plane
    base_radius: float = 0.8  # finger bases on a circle around the palm centre
    phalanx_lengths: tuple[float, float, float] = (1.1, 0.9, 0.7)
    splay_deg: float = 20.0  # open fingers lean outwards from the approach axis by this much
    joint_limit_deg: float = 60.0  # each flexion joint closes from 0 to this
    distance_range: tuple[float, float] = (3.2, 4.0)  # palm centre distance from the object centre
    pitch_range: tuple[float, float] = (-1.1, 1.1)
    tip_range: float = 3.0
    palm_range: float = 6.0
    palm_ray_offset: float = 0.5
    closing_steps: int = 32  # grid search of the first contact along each closing stage ...
    bisection_steps: int = 6  # ... then refined by bisection

    @property
    def sense_dim(self) -> int:
        return len(self.finger_angles_deg) * len(PER_FINGER) + PALM_RAYS


def haptic_feature_names(hand: HandSpec = HandSpec()) -> list[str]:
    """Names of the sense vector's entries, in order."""
    if len(hand.finger_angles_deg) != len(FINGERS):
        names = [f"finger{i}" for i in range(len(hand.finger_angles_deg))]
    else:
        names = list(FINGERS)
    out = [f"{finger}.{item}" for finger in names for item in PER_FINGER]
    return out + [f"palm.ray{i}" for i in range(PALM_RAYS)]


def sample_hand_poses(rng: np.random.Generator, n: int, hand: HandSpec = HandSpec()) -> np.ndarray:
    """``n`` random hand queries (n, 7): palm position (3), cos/sin yaw, cos/sin pitch."""
    yaw = rng.uniform(-np.pi, np.pi, n)
    pitch = rng.uniform(*hand.pitch_range, n)
    radius = rng.uniform(*hand.distance_range, n)
    return pose_query(sphere_position(radius, yaw, pitch), yaw, pitch)


def _finger_points(base, axis, radial, angles, lengths, splay):
    """Joint/tip positions (..., 4, 3) of fingers with flexion ``angles`` (..., 3)."""
    beta = splay - np.cumsum(angles, axis=-1)  # angle of each phalanx from the approach axis
    dirs = np.cos(beta)[..., None] * axis[..., None, :] + np.sin(beta)[..., None] * radial[..., None, :]
    steps = dirs * np.asarray(lengths)[:, None]
    return np.concatenate([base[..., None, :], base[..., None, :] + np.cumsum(steps, axis=-2)], axis=-2)


def _moving_hit(finger_centres, base, axis, radial, fixed, start, value, active, hand):
    """For each finger, whether any moving phalanx touches its object (cubes ``finger_centres`` (F, K, 3))
    when active joints sit at ``value``. Every argument is per finger; each finger's answer depends on its
    own rows only, so any subset of fingers can be asked.

    Returns (F,) bool and (F, 3) per-phalanx hits.
    """
    angles = np.where(active, value[:, None], fixed)
    points = _finger_points(base, axis, radial, angles, hand.phalanx_lengths, np.deg2rad(hand.splay_deg))
    starts, ends = points[:, :-1].reshape(-1, 3), points[:, 1:].reshape(-1, 3)
    per_phalanx = segments_hit(starts, ends, np.repeat(finger_centres, 3, axis=0)).reshape(-1, 3)
    moving = np.arange(3)[None, :] >= start[:, None]
    per_phalanx &= moving
    return per_phalanx.any(axis=1), per_phalanx


def grasp(obj: SceneObject, queries: np.ndarray, hand: HandSpec = HandSpec()) -> np.ndarray:
    """Close the hand at each query pose (n, 7) on ``obj``; returns the haptic senses (n, hand.sense_dim)."""
    queries = np.asarray(queries, dtype=np.float64)
    if queries.ndim != 2 or queries.shape[1] != 7:
        raise ValueError(f"hand queries must have shape (n, 7), got {queries.shape}")
    return grasp_shapes([obj.centres], queries[None], hand)[0]


def grasp_shapes(shapes: list[np.ndarray], queries: np.ndarray, hand: HandSpec = HandSpec()) -> np.ndarray:
    """Close the hand on several objects at once: ``queries`` (B, n, 7) on each of the B ``shapes`` (cube
    centres (k_i, 3); colours are not felt). Returns (B, n, hand.sense_dim), each row exactly what
    :func:`grasp` gives for that object alone, at a fraction of the cost of B calls.
    """
    queries = np.asarray(queries, dtype=np.float64)
    if queries.ndim != 3 or queries.shape[2] != 7 or queries.shape[0] != len(shapes):
        raise ValueError(f"hand queries must have shape (B, n, 7) with B = {len(shapes)} shapes, got {queries.shape}")
    batch, per_shape = queries.shape[:2]
    queries = queries.reshape(-1, 7)
    query_centres = np.repeat(per_row_centres(list(shapes)), per_shape, axis=0)  # (B n, K, 3)
    senses = [_grasp_rows(queries[i : i + GRASP_CHUNK], query_centres[i : i + GRASP_CHUNK], hand)
              for i in range(0, len(queries), GRASP_CHUNK)]  # fmt: skip
    if not senses:  # no queries
        return np.zeros((batch, per_shape, hand.sense_dim), dtype=np.float32)
    return np.concatenate(senses).reshape(batch, per_shape, hand.sense_dim)


def _grasp_rows(queries: np.ndarray, query_centres: np.ndarray, hand: HandSpec) -> np.ndarray:
    """The senses (n, hand.sense_dim) of queries (n, 7), each on its own object (cubes ``query_centres`` (n, K, 3))."""
    n, n_fingers = len(queries), len(hand.finger_angles_deg)
    finger_centres = np.repeat(query_centres, n_fingers, axis=0)
    palm = queries[:, :3]
    axis, right, up = look_at_frame(palm)
    phi = np.deg2rad(np.asarray(hand.finger_angles_deg))
    radial = np.cos(phi)[None, :, None] * right[:, None, :] + np.sin(phi)[None, :, None] * up[:, None, :]
    base = palm[:, None, :] + hand.base_radius * radial
    axis_f = np.repeat(axis[:, None, :], n_fingers, axis=1)
    base, radial, axis_f = base.reshape(-1, 3), radial.reshape(-1, 3), axis_f.reshape(-1, 3)
    count = n * n_fingers
    limit = np.deg2rad(hand.joint_limit_deg)

    angles = np.zeros((count, 3))
    contact = np.zeros((count, 3), dtype=bool)
    pressure = np.zeros((count, 3))
    start = np.zeros(count, dtype=np.int64)  # first still-flexing joint (3 = finger done)

    def moving_hit(rows: np.ndarray, value: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_moving_hit` for the fingers ``rows`` only (``value`` and ``active`` over every finger)."""
        return _moving_hit(finger_centres[rows], base[rows], axis_f[rows], radial[rows], angles[rows], start[rows],
                           value[rows], active[rows], hand)  # fmt: skip

    for _stage in range(3):
        live = start < 3
        if not live.any():
            break
        active = np.arange(3)[None, :] >= start[:, None]
        current = np.where(live, angles[np.arange(count), np.minimum(start, 2)], limit)
        # grid search for the first contact between ``current`` and the limit
        grid = np.linspace(0.0, 1.0, hand.closing_steps + 1)
        first = np.full(count, -1)
        for g, frac in enumerate(grid):  # only the fingers still searching are tested
            searching = np.flatnonzero(live & (first < 0))
            if not len(searching):
                break
            hit, _ = moving_hit(searching, current + frac * (limit - current), active)
            first[searching[hit]] = g
        touched = live & (first >= 0)
        lo = np.where(first > 0, current + grid[np.maximum(first - 1, 0)] * (limit - current), current)
        hi = np.where(first >= 0, current + grid[np.maximum(first, 0)] * (limit - current), limit)
        refine = np.flatnonzero(touched & (first > 0))
        for _ in range(hand.bisection_steps):
            mid = 0.5 * (lo + hi)
            hit, _ = moving_hit(refine, mid, active)
            hi[refine[hit]] = mid[refine[hit]]
            lo[refine[~hit]] = mid[refine[~hit]]
        stop = np.where(touched, hi, limit)
        which = np.zeros((count, 3), dtype=bool)
        which[touched] = moving_hit(np.flatnonzero(touched), stop, active)[1]
        # the most proximal touching phalanx (if the refined point lost the hit, fall back to the first moving one)
        proximal = np.where(which.any(axis=1), which.argmax(axis=1), start)
        upd = live[:, None] & active
        angles = np.where(upd, np.where(live, stop, 0.0)[:, None], angles)
        rows = np.flatnonzero(touched)
        contact[rows, proximal[rows]] = True
        pressure[rows, proximal[rows]] = (limit - stop[rows]) / limit
        start = np.where(touched, proximal + 1, 3)

    points = _finger_points(base, axis_f, radial, angles, hand.phalanx_lengths, np.deg2rad(hand.splay_deg))
    tip_dir = points[:, 3] - points[:, 2]
    tip_dir /= np.linalg.norm(tip_dir, axis=1, keepdims=True)
    t_tip, _, _ = ray_cast(points[:, 3] + 1e-6 * tip_dir, tip_dir, finger_centres)
    tip = np.minimum(t_tip, hand.tip_range) / hand.tip_range
    fingers = np.concatenate(
        [angles / limit, contact.astype(np.float64), pressure, tip[:, None]], axis=1
    ).reshape(n, n_fingers * len(PER_FINGER))

    offsets = hand.palm_ray_offset * np.array([-1.0, 0.0, 1.0])
    o1, o2 = np.meshgrid(offsets, offsets)
    origins = palm[:, None, :] + o1.reshape(1, -1, 1) * right[:, None, :] + o2.reshape(1, -1, 1) * up[:, None, :]
    t_palm, _, _ = ray_cast(origins.reshape(-1, 3), np.repeat(axis, PALM_RAYS, axis=0),
                           np.repeat(query_centres, PALM_RAYS, axis=0))
    palm_rays = (np.minimum(t_palm, hand.palm_range) / hand.palm_range).reshape(n, PALM_RAYS)
    return np.concatenate([fingers, palm_rays], axis=1).astype(np.float32)


def haptic_halves(hand: HandSpec = HandSpec()) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the two haptic 'halves' used for M = 8 and 14, as in the paper's split of the MPL
    channels: thumb + index + middle, and ring + little + palm."""
    per = len(PER_FINGER)
    first = np.arange(0, 3 * per)
    second = np.arange(3 * per, hand.sense_dim)
    return first, second
