// HFInterop module: see docs/ARCHITECTURE.md.
