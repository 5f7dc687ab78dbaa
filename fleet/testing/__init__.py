"""Stand-ins for services that cannot run on a small machine (used by tests and the demo)."""
