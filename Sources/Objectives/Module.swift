// Objectives module: see docs/ARCHITECTURE.md.
