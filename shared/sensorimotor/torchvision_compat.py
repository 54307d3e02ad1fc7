"""Import torchvision whether or not its compiled ops match the installed torch.

PyPI's ``torchvision`` wheels are CUDA builds. Against a CPU-only torch their compiled extension
(``torchvision/_C.so``) fails to load, which torchvision tolerates, but its ``_meta_registrations``
module then registers fake kernels for ``torchvision::nms`` and ``torchvision::qnms`` without checking,
and ``import torchvision`` dies with ``RuntimeError: operator torchvision::nms does not exist``.

:func:`import_torchvision` is the one place this project handles that. If the extension loads (any
normal install, CUDA or CPU), it changes nothing. If it does not, it declares the schemas of the two
operators before torchvision is imported, so the import succeeds; everything this project uses from
torchvision (models, transforms, ``utils.make_grid``) works. The compiled detection ops themselves
(``torchvision.ops.nms`` and friends) stay unavailable there and raise if called.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import torch

# Operators that torchvision's meta registrations touch even when its extension failed to load.
_SCHEMAS_NEEDED_AT_IMPORT = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

_fallback_library: torch.library.Library | None = None


def _has_schema(name: str) -> bool:
    try:
        torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
    except RuntimeError:
        return False
    return True


def _extension_loads() -> bool:
    """True when torchvision's compiled extension can be loaded into this torch."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed; install it with `pip install torchvision`")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd"))
    if not candidates:
        return False
    try:
        torch.ops.load_library(str(candidates[0]))
    except (OSError, ImportError):
        return False
    return True


def extension_available() -> bool:
    """Whether torchvision's compiled ops (nms, roi_align, ...) are usable in this install."""
    return _has_schema("nms") and _extension_loads()


def declare_missing_schemas() -> list[str]:
    """Declare the op schemas torchvision's import needs if its extension cannot provide them.

    Returns the names declared (empty on a normal install). Safe to call more than once.
    """
    global _fallback_library
    if _extension_loads():
        return []
    missing = {n: s for n, s in _SCHEMAS_NEEDED_AT_IMPORT.items() if not _has_schema(n)}
    if missing:
        if _fallback_library is None:
            _fallback_library = torch.library.Library("torchvision", "FRAGMENT")
        for schema in missing.values():
            _fallback_library.define(schema)
    return sorted(missing)


def import_torchvision() -> ModuleType:
    """Return the ``torchvision`` module, declaring missing op schemas first where needed."""
    declare_missing_schemas()
    import torchvision

    return torchvision
