"""fleet.clusters: where clusters come from (registry), how fleet talks to them (client), and
the cluster simulator (sim) that stands in for real clusters in tests and the demo."""
