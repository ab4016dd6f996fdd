"""threestep's benchmarks against PyTorch: ``python -m benchmarks`` runs the whole suite (one
table; see ``suite.py``); ``python -m benchmarks.NAME`` runs one older single-process benchmark
(mlp, cnn, rnn, conv_ops, ...)."""
