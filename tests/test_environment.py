"""environment.yml (conda) and pyproject.toml (pip) must list the same packages and bounds."""

import re

import tomllib
import yaml

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
NOT_IN_PYPROJECT = {"python", "pip"}
PIP_ONLY_EXTRAS = {"cluster"}  # Ray for --executor ray: `pip install -e ".[cluster]"`, not in the conda recipe


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject(project_root):
    data = tomllib.loads((project_root / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for name, extra in data["project"]["optional-dependencies"].items():
        if name not in PIP_ONLY_EXTRAS:
            reqs += [r for r in extra if not r.startswith("sensorimotor")]
    return dict(_split(r) for r in reqs)


def _conda(project_root):
    env = yaml.safe_load((project_root / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    deps = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            name = CONDA_NAMES.get(name, name)
            if name not in NOT_IN_PYPROJECT:
                deps[name] = spec
    return deps


def test_conda_and_pip_list_the_same_packages_and_bounds(project_root):
    pip, conda = _pyproject(project_root), _conda(project_root)
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but not pyproject.toml"
    mismatched = {k: (pip[k], conda[k]) for k in pip if pip[k] != conda[k]}
    assert mismatched == {}


def test_constraints_pin_the_tested_torch_pair(project_root):
    pins = dict(
        line.split("==") for line in (project_root / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(pins) == {"torch", "torchvision"}
