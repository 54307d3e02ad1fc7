from dataclasses import dataclass

import pytest

from sensorimotor.hashing import config_hash
from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles


@dataclass(frozen=True)
class ToyConfig(ChapterConfig):
    steps: int = 10
    lr: float = 1e-3
    sizes: tuple[int, ...] = (8, 16)
    name: str = "toy"

    def validate(self) -> None:
        if self.steps > 10_000:
            raise ConfigError(f"steps must be <= 10000, got {self.steps}")


PROFILES = Profiles(smoke=ToyConfig(steps=1), default=ToyConfig(), paper=ToyConfig(steps=1000))


def test_profiles_are_named_and_seeded():
    cfg = PROFILES.get("paper", seed=3)
    assert (cfg.profile, cfg.steps, cfg.seed) == ("paper", 1000, 3)
    assert PROFILES["smoke"].profile == "smoke"


def test_unknown_profile_names_value_and_accepted():
    with pytest.raises(ConfigError, match=r"unknown profile 'fast'.*smoke, default, paper"):
        PROFILES.get("fast")


def test_unknown_override_lists_accepted_keys():
    with pytest.raises(ConfigError, match=r"unknown override\(s\) \['stepz'\].*accepted: .*steps"):
        PROFILES.get("default", stepz=3)


def test_override_of_wrong_type_is_refused():
    with pytest.raises(ConfigError, match=r"steps='many'.*expects <class 'int'>"):
        PROFILES.get("default", steps="many")
    with pytest.raises(ConfigError, match="lr"):
        PROFILES.get("default", lr=True)


def test_overrides_are_coerced_losslessly():
    cfg = PROFILES.get("default", lr=1, sizes=[4, 4])
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.sizes == (4, 4)


def test_validate_hook_runs_on_overrides():
    with pytest.raises(ConfigError, match="steps must be <= 10000, got 20000"):
        PROFILES.get("default", steps=20000)


def test_profile_cannot_be_overridden():
    with pytest.raises(ConfigError, match="'profile' cannot be overridden"):
        PROFILES.get("default", profile="paper")


def test_profiles_must_share_a_class():
    @dataclass(frozen=True)
    class Other(ChapterConfig):
        pass

    with pytest.raises(ConfigError, match="share one config class"):
        Profiles(smoke=ToyConfig(), default=Other(), paper=ToyConfig())


def test_config_hash_is_stable_and_sensitive():
    a, b = PROFILES.get("default"), PROFILES.get("default", steps=11)
    assert config_hash(a) == config_hash(PROFILES.get("default"))
    assert config_hash(a) != config_hash(b)
    assert config_hash(a.subset("lr")) == config_hash(b.subset("lr"))
    with pytest.raises(ConfigError, match="no knob"):
        a.subset("nope")


def test_chapter_config_with_postponed_annotations_loads(tmp_path):
    from sensorimotor.profiles import load_chapter_module

    (tmp_path / "config.py").write_text(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n"
        "from sensorimotor.profiles import ChapterConfig, Profiles\n"
        "@dataclass(frozen=True)\n"
        "class C(ChapterConfig):\n"
        "    steps: int = 1\n"
        "PROFILES = Profiles(smoke=C(), default=C(), paper=C(steps=9))\n"
    )
    module = load_chapter_module(tmp_path / "config.py")
    assert module.PROFILES.get("paper", steps=3).steps == 3
    with pytest.raises(ConfigError, match="steps"):
        module.PROFILES.get("paper", steps="x")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"lr": float("nan")}, r"lr=nan is not finite"),
        ({"lr": float("inf")}, r"not finite"),
        ({"sizes": (8, float("nan"))}, r"not finite"),
        ({"lr": -1.0}, r"lr=-1.0; accepted: > 0"),
        ({"steps": -5}, r"steps=-5; accepted: > 0"),
        ({"device": "tpu"}, r"device='tpu'; accepted: auto, cpu, cuda, cuda:N, mps"),
        ({"seed": -1}, r"seed=-1; accepted: an int >= 0"),
    ],
)
def test_bad_values_are_refused_naming_value_and_accepted_range(override, message):
    with pytest.raises(ConfigError, match=message):
        PROFILES.get("default", **override)


def test_good_devices_and_values_pass():
    assert PROFILES.get("default", device="cuda:1", lr=0.5).device == "cuda:1"
