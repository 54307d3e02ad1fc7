"""Per-chapter configurations: a frozen dataclass of knobs and three named profiles.

A chapter's ``config.py`` declares its knobs once and the three profiles as instances::

    @dataclass(frozen=True)
    class DMBNConfig(ChapterConfig):
        image_size: int = 64
        train_steps: int = 3000

    PROFILES = Profiles(
        smoke=DMBNConfig(image_size=32, train_steps=20),
        default=DMBNConfig(),
        paper=DMBNConfig(image_size=128, train_steps=1_000_000),  # Section 3
    )

    def dmbn_config(profile: str = "default", **overrides) -> DMBNConfig:
        return PROFILES.get(profile, **overrides)

Unknown profiles, unknown override keys and overrides of the wrong type raise :class:`ConfigError`
naming the value and what is accepted.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

# re-exported for existing callers; cache keys hash with sensorimotor.hashing, so profiles.py is in none
from sensorimotor.hashing import config_hash as config_hash

PROFILE_NAMES = ("smoke", "default", "paper")
RESERVED_KNOBS = ("profile", "seed")  # set by the profile name and the seed argument, never as overrides
POSITIVE_KNOB = re.compile(r"(^n_|steps$|epochs$|size$|sizes$|seeds$|(^|_)lr$|^lr_|rate$|width$)")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


class ConfigError(ValueError):
    """A profile name, override key or override value that the chapter does not accept."""


@dataclasses.dataclass(frozen=True)
class ChapterConfig:
    """Base of every chapter's knobs. ``profile`` and ``seed`` are filled in by :class:`Profiles`."""

    profile: str = "default"
    seed: int = 0
    device: str = "auto"  # "auto" picks CUDA when available, else CPU

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def subset(self, *names: str) -> dict[str, Any]:
        """The named knobs as a dict: what a cache key for one stage should depend on."""
        values = self.to_dict()
        unknown = [n for n in names if n not in values]
        if unknown:
            raise ConfigError(f"{type(self).__name__} has no knob(s) {unknown}; knobs: {sorted(values)}")
        return {n: values[n] for n in names}


C = TypeVar("C", bound=ChapterConfig)


def _type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            return False
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return all(_type_ok(v, args[0]) for v in value) if args else True
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _coerce(value: Any, annotation: Any) -> Any:
    """Turn JSON-ish values into the field's type where that is lossless (list -> tuple, int -> float)."""
    if typing.get_origin(annotation) is tuple and isinstance(value, list):
        return tuple(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class Profiles(Generic[C]):
    """The three named profiles of one chapter config class."""

    def __init__(self, *, smoke: C, default: C, paper: C) -> None:
        configs = {"smoke": smoke, "default": default, "paper": paper}
        classes = {type(c) for c in configs.values()}
        if len(classes) != 1:
            raise ConfigError(f"all profiles must share one config class, got {sorted(c.__name__ for c in classes)}")
        self.config_class: type[C] = classes.pop()
        self._configs = {name: dataclasses.replace(cfg, profile=name) for name, cfg in configs.items()}

    @property
    def names(self) -> tuple[str, ...]:
        return PROFILE_NAMES

    def knobs(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.config_class)]

    def get(self, profile: str = "default", /, **overrides: Any) -> C:
        """The named profile with ``overrides`` applied; raises :class:`ConfigError` on bad input."""
        if profile not in self._configs:
            raise ConfigError(f"unknown profile {profile!r}; accepted profiles: {', '.join(PROFILE_NAMES)}")
        knobs = self.knobs()
        unknown = sorted(k for k in overrides if k not in knobs)
        if unknown:
            raise ConfigError(
                f"unknown override(s) {unknown} for {self.config_class.__name__}; accepted: {', '.join(knobs)}"
            )
        if "profile" in overrides:
            raise ConfigError("'profile' cannot be overridden; pass it as the profile argument")
        hints = typing.get_type_hints(self.config_class)
        clean = {}
        for key, value in overrides.items():
            value = _coerce(value, hints[key])
            if _has_non_finite(value):
                raise ConfigError(f"override {key}={value!r} is not finite; {key} accepts finite numbers only")
            if not _type_ok(value, hints[key]):
                raise ConfigError(
                    f"override {key}={value!r} has type {type(value).__name__}; {key} expects {hints[key]}"
                )
            self._check_range(key, value)
            clean[key] = value
        config = dataclasses.replace(self._configs[profile], **clean)
        validate = getattr(config, "validate", None)
        if callable(validate):
            validate()
        return config

    def __getitem__(self, profile: str) -> C:
        return self.get(profile)

    def _check_range(self, key: str, value: Any) -> None:
        """Ranges every chapter shares: a number non-negative in all three profiles stays so, and a count,
        size or rate positive in all three stays positive; fractions lie in [0, 1]; seeds are ints >= 0;
        devices are ones torch knows. Chapter-specific ranges live in each config's ``validate``."""
        if key == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"seed={value!r}; accepted: an int >= 0")
            return
        if key == "device":
            if not isinstance(value, str) or not DEVICE_PATTERN.match(value):
                raise ConfigError(f"device={value!r}; accepted: auto, cpu, cuda, cuda:N, mps")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if "fraction" in key and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{key}={value!r}; accepted: a fraction in [0, 1]")
        defaults = [getattr(cfg, key) for cfg in self._configs.values()]
        numbers = [d for d in defaults if isinstance(d, (int, float)) and not isinstance(d, bool)]
        if len(numbers) != len(defaults):
            return
        if min(numbers) > 0 and value <= 0 and POSITIVE_KNOB.search(key):
            raise ConfigError(f"{key}={value!r}; accepted: > 0 (a count, size or rate)")
        if min(numbers) >= 0 and value < 0:
            raise ConfigError(f"{key}={value!r}; accepted: >= 0")


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (tuple, list)):
        return any(_has_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    return False


def load_chapter_module(config_path: str | Path) -> ModuleType:
    """Load ``replications/<paper>/config.py`` from its path (tests and the pipeline use this)."""
    path = Path(config_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no chapter config at {path}")
    name = f"_chapter_config_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve string annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    if not isinstance(getattr(module, "PROFILES", None), Profiles):
        raise ConfigError(f"{path} must define PROFILES = Profiles(smoke=..., default=..., paper=...)")
    return module
