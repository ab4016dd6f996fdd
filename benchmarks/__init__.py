"""threestep's benchmarks against PyTorch (run each module with python -m benchmarks.NAME)."""
