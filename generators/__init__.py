"""fleet.generators: ApplicationSet generators, one module each, behind one protocol."""
