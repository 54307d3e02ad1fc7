"""Multisensory 3D scenes (our stand-in for the paper's MESE): Shepard-Metzler-like objects seen and touched.

A scene holds one object: a random chain of unit cubes (each cube face-attached to the previous one),
each cube with its own colour, centred at the origin of an otherwise empty world. Two senses probe it:

* **vision** (this module): a pinhole camera on a sphere around the object looks at its centre; the
  query is the camera position plus cos/sin of its yaw and pitch (7 numbers, as in GQN), the sense an
  RGB image rendered by exact ray casting against the cubes (Lambert shading, one directional light,
  black background, anti-aliased by supersampling).
* **haptics** (:mod:`sensorimotor.gmn.hand_sim`): a five-fingered hand placed near the object closes
  its fingers; the query is the hand pose, the sense what the fingers feel.

The geometry is analytic (axis-aligned unit cubes, slab-method ray/segment tests in NumPy), so a scene
is exact, fast to generate and byte-for-byte reproducible from its seed; no physics engine is needed
because nothing moves. A test cross-checks the ray casts against pybullet's ``rayTestBatch``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

CUBE_HALF = 0.5  # unit cubes
DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.int64)
LIGHT_DIRECTION = np.array([0.45, 0.3, 0.84]) / np.linalg.norm([0.45, 0.3, 0.84])  # towards the light
AMBIENT = 0.45


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """A chain of unit cubes: ``centres`` (n, 3) in world units (centred on the origin), ``colours`` (n, 3) in [0, 1]."""

    centres: np.ndarray
    colours: np.ndarray

    @property
    def n_parts(self) -> int:
        return len(self.centres)

    @property
    def radius(self) -> float:
        """Distance from the origin to the farthest cube corner."""
        corners = np.abs(self.centres) + CUBE_HALF
        return float(np.linalg.norm(corners, axis=1).max())


def random_object(rng: np.random.Generator, n_parts: int) -> SceneObject:
    """A random self-avoiding chain of ``n_parts`` unit cubes with random saturated colours."""
    if not isinstance(n_parts, (int, np.integer)) or n_parts < 1:
        raise ValueError(f"n_parts must be a positive int, got {n_parts!r}")
    cells = [np.zeros(3, dtype=np.int64)]
    occupied = {(0, 0, 0)}
    while len(cells) < n_parts:
        free = [d for d in DIRECTIONS if tuple(cells[-1] + d) not in occupied]
        if not free:  # a dead end (impossible below 9 parts on a 3D lattice, kept for safety): restart
            cells, occupied = [np.zeros(3, dtype=np.int64)], {(0, 0, 0)}
            continue
        step = free[rng.integers(len(free))]
        cells.append(cells[-1] + step)
        occupied.add(tuple(cells[-1]))
    centres = np.array(cells, dtype=np.float64)
    centres -= centres.mean(axis=0)
    hue = rng.uniform(0.0, 1.0, n_parts)
    saturation = rng.uniform(0.6, 1.0, n_parts)
    value = rng.uniform(0.7, 1.0, n_parts)
    return SceneObject(centres=centres, colours=hsv_to_rgb(hue, saturation, value))


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB (all in [0, 1]); returns (n, 3)."""
    h6 = (np.asarray(h) % 1.0) * 6.0
    i = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [np.stack(c, axis=-1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))], axis=0
    )
    return table[i, np.arange(len(i))]


# --------------------------------------------------------------------------------------------------
# Ray / segment tests against axis-aligned unit cubes (slab method)
# --------------------------------------------------------------------------------------------------


def per_row_centres(objects: list[np.ndarray]) -> np.ndarray:
    """Stack objects' cube centres (k_i, 3) into (B, max k_i, 3) for the per-row form of the ray tests.

    A shorter object is padded with copies of its first cube: the union of its cubes, and so every
    hit, distance and first-hit index, stay exactly those of the object alone.
    """
    if not objects or any(np.ndim(c) != 2 or np.shape(c)[1] != 3 or len(c) == 0 for c in objects):
        raise ValueError("objects must be a non-empty list of (k, 3) cube-centre arrays with k >= 1")
    width = max(len(c) for c in objects)
    return np.stack([np.concatenate([c, np.repeat(np.asarray(c)[:1], width - len(c), axis=0)]) for c in objects])


def _cubes(centres: np.ndarray, rows: int) -> np.ndarray:
    """The cubes to test, first axis over cubes: (K, 3) shared or (K, R, 3) per row, from (K, 3) / (R, K, 3)."""
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim == 2 and centres.shape[1] == 3:
        return centres
    if centres.ndim == 3 and centres.shape[0] == rows and centres.shape[2] == 3:
        return centres.transpose(1, 0, 2)
    raise ValueError(f"cube centres must be (K, 3) or ({rows}, K, 3), got {centres.shape}")


def _slab_interval(
    origins: np.ndarray, directions: np.ndarray, centre: np.ndarray, half: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry/exit parameters (R,) of lines o + t d through one axis-aligned cube, and the per-axis entry
    parameters (R, 3) (their argmax is the entry axis).

    Components of ``d`` that are exactly zero (parallel to a slab, also -0.0) are handled explicitly:
    the slab then holds for every t if the origin lies in it (boundaries included), else for none.
    """
    parallel = directions == 0
    safe = np.where(parallel, 1.0, directions)
    lo = (centre - half - origins) / safe
    hi = (centre + half - origins) / safe
    near, far = np.minimum(lo, hi), np.maximum(lo, hi)
    inside = (origins >= centre - half) & (origins <= centre + half)
    near = np.where(parallel, np.where(inside, -np.inf, np.inf), near)
    far = np.where(parallel, np.where(inside, np.inf, -np.inf), far)
    # the max / min over the 3 axes written out: numpy's reductions over a length-3 axis are slow
    tmin = np.maximum(np.maximum(near[:, 0], near[:, 1]), near[:, 2])
    tmax = np.minimum(np.minimum(far[:, 0], far[:, 1]), far[:, 2])
    return tmin, tmax, near


def ray_cast(
    origins: np.ndarray, directions: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First hit of each ray (origin outside the object) with the cubes.

    ``centres`` (K, 3) are the cubes of one object for every ray, or (R, K, 3) those of each ray's own
    object (see :func:`per_row_centres`). Returns ``t`` (R,) distance along the (not necessarily unit)
    direction, ``inf`` for a miss; ``cube`` (R,) index of the hit cube, -1 for a miss; ``normal`` (R, 3)
    outward unit normal at the hit (0 for a miss).
    """
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    best = np.full(len(origins), np.inf)
    cube = np.full(len(origins), -1)
    best_axis = np.zeros(len(origins), dtype=np.int64)
    for k, centre in enumerate(_cubes(centres, len(origins))):
        tmin, tmax, near = _slab_interval(origins, directions, centre, CUBE_HALF)
        hit = (tmax >= tmin) & (tmin > 0) & (tmin < best)
        best = np.where(hit, tmin, best)
        cube = np.where(hit, k, cube)
        best_axis[hit] = near[hit].argmax(axis=1)
    rows = np.arange(len(origins))
    normal = np.zeros_like(origins)
    normal[rows, best_axis] = -np.sign(directions[rows, best_axis])
    normal[cube < 0] = 0.0
    return best, cube, normal


def segments_hit(starts: np.ndarray, ends: np.ndarray, centres: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Whether each segment (R, 3)->(R, 3) touches any cube (cubes inflated by ``margin``); returns (R,) bool.

    ``centres`` as in :func:`ray_cast`: (K, 3) shared, or (R, K, 3) per segment.
    """
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 3)
    ends = np.asarray(ends, dtype=np.float64).reshape(-1, 3)
    d = ends - starts
    out = np.zeros(len(starts), dtype=bool)
    for centre in _cubes(centres, len(starts)):
        tmin, tmax, _ = _slab_interval(starts, d, centre, CUBE_HALF + margin)
        out |= (tmax >= tmin) & (tmax >= 0.0) & (tmin <= 1.0)
    return out


# --------------------------------------------------------------------------------------------------
# Vision
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CameraSpec:
    """The camera rig: distance from the object centre, vertical field of view, pitch range (radians)."""

    radius: float = 6.5
    fov_deg: float = 45.0
    pitch_range: tuple[float, float] = (-1.1, 1.1)  # about +-63 deg; keeps clear of the look-at pole


def pose_query(position: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """GQN-style 7-number query: position (3), cos/sin yaw, cos/sin pitch; arrays of shape (n, 7)."""
    return np.concatenate(
        [position, np.cos(yaw)[:, None], np.sin(yaw)[:, None], np.cos(pitch)[:, None], np.sin(pitch)[:, None]],
        axis=1,
    ).astype(np.float32)


def sphere_position(radius: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Points at ``radius`` from the origin seen at ``yaw`` (about z) and ``pitch`` (elevation); (n, 3)."""
    radius = np.broadcast_to(radius, np.shape(yaw))
    return np.stack(
        [radius * np.cos(pitch) * np.cos(yaw), radius * np.cos(pitch) * np.sin(yaw), radius * np.sin(pitch)], axis=1
    )


def look_at_frame(position: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward (towards the origin), right and up unit vectors for viewers at ``position`` (n, 3)."""
    forward = -position / np.linalg.norm(position, axis=1, keepdims=True)
    world_up = np.array([0.0, 0.0, 1.0])
    right = np.cross(forward, world_up)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    up = np.cross(right, forward)
    return forward, right, up


def sample_viewpoints(rng: np.random.Generator, n: int, camera: CameraSpec = CameraSpec()) -> np.ndarray:
    """``n`` random camera queries (n, 7): yaw uniform, pitch uniform in ``camera.pitch_range``."""
    yaw = rng.uniform(-np.pi, np.pi, n)
    pitch = rng.uniform(*camera.pitch_range, n)
    return pose_query(sphere_position(camera.radius, yaw, pitch), yaw, pitch)


def render_views(
    obj: SceneObject, queries: np.ndarray, image_size: int, camera: CameraSpec = CameraSpec(), supersample: int = 2
) -> np.ndarray:
    """Render the object from camera queries (n, 7) (positions are read from the first 3 numbers).

    Returns uint8 images (n, image_size, image_size, 3). Each pixel averages ``supersample``^2 rays.
    """
    if image_size < 4 or supersample < 1:
        raise ValueError(f"image_size must be >= 4 and supersample >= 1, got {image_size}, {supersample}")
    queries = np.asarray(queries, dtype=np.float64)
    if queries.ndim != 2 or queries.shape[1] != 7:
        raise ValueError(f"camera queries must have shape (n, 7), got {queries.shape}")
    position = queries[:, :3]
    forward, right, up = look_at_frame(position)
    side = image_size * supersample
    half_extent = np.tan(np.deg2rad(camera.fov_deg) / 2)
    coords = ((np.arange(side) + 0.5) / side * 2 - 1) * half_extent  # pixel centres in [-1, 1] * tan
    u, v = np.meshgrid(coords, -coords)  # row 0 is the top of the image
    directions = (
        forward[:, None, None, :]
        + u[None, :, :, None] * right[:, None, None, :]
        + v[None, :, :, None] * up[:, None, None, :]
    ).reshape(-1, 3)
    origins = np.repeat(position, side * side, axis=0)
    # only rays that pass the object's bounding sphere can hit it
    a = (directions**2).sum(1)
    b = (origins * directions).sum(1)
    c = (origins**2).sum(1) - (obj.radius + 1e-6) ** 2
    candidate = np.flatnonzero(b * b - a * c >= 0)
    colour = np.zeros((len(origins), 3))
    _, cube, normal = ray_cast(origins[candidate], directions[candidate], obj.centres)
    shade = AMBIENT + (1 - AMBIENT) * np.clip(normal @ LIGHT_DIRECTION, 0.0, None)
    colour[candidate] = np.where((cube >= 0)[:, None], obj.colours[np.maximum(cube, 0)] * shade[:, None], 0.0)
    image = colour.reshape(len(queries), image_size, supersample, image_size, supersample, 3).mean(axis=(2, 4))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
