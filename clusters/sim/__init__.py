"""``fleet sim``: a fleet of simulated Kubernetes API servers on one loopback port.

Real clients (kubectl, the official ``kubernetes`` Python client, fleet's own cluster client) talk
to ``http://127.0.0.1:PORT/clusters/NAME`` as to a real cluster. See ``server.SimServer``.
"""

from __future__ import annotations

from fleet.clusters.sim.server import SimServer

__all__ = ["SimServer"]
