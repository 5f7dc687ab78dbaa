"""One import root, ``fleet``, over the four top-level folders.

The layout tells the architecture (fleet/, generators/, secrets/, clusters/ side by side) while
everything installs as fleet, fleet.generators, fleet.secrets and fleet.clusters. The mapping is
in the tree itself: ``fleet/generators``, ``fleet/secrets`` and ``fleet/clusters`` are symbolic
links to the top-level folders, so the interpreter, an editable install, mypy and import-linter
all find ``fleet.secrets`` the same plain way, and a wheel carries real copies (setuptools
follows the links). ``secrets/`` keeps no ``__init__.py`` (``fleet.secrets`` is a namespace
package): ``import secrets`` from the repository root must still give the standard library.

The package list is computed so that new subpackages need no edit here.
"""

from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["fleet", "fleet.*"], exclude=["*__pycache__*"]))
