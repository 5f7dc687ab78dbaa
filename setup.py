"""Map the four top-level folders onto one import root, `fleet`.

The layout tells the architecture (fleet/, generators/, secrets/, clusters/ side by side) while
everything installs as fleet, fleet.generators, fleet.secrets and fleet.clusters. setuptools
cannot express "every subpackage below a remapped folder" in pyproject.toml, so it is computed.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {
    "fleet": "fleet",
    "fleet.generators": "generators",
    "fleet.secrets": "secrets",
    "fleet.clusters": "clusters",
}


def _packages() -> list[str]:
    found: list[str] = []
    for name, folder in ROOTS.items():
        found.append(name)
        for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]):
            if f"{name}.{sub}" not in ROOTS:
                found.append(f"{name}.{sub}")
    return found


setup(packages=_packages(), package_dir=ROOTS)
