"""``cupy.cuda`` for the fake CuPy: one device, synchronize and the memory pools, as no-ops."""
import types

# ---------------------------------------------------------------------------------------
# cupy.cuda: one device, synchronize and memory pools as no-ops
# ---------------------------------------------------------------------------------------
cuda = types.ModuleType("cupy.cuda")


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        pass

    def use(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    compute_capability = "90"
    mem_info = (80 << 30, 80 << 30)


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        pass

    def get_limit(self):
        return 0

    def n_free_blocks(self):
        return 0


_pool, _pinned_pool = _MemoryPool(), _MemoryPool()
cuda.Device = _Device
cuda.MemoryPool = _MemoryPool
cuda.is_available = lambda: True
cuda.get_device_id = lambda: 0
cuda.runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1, deviceSynchronize=lambda: None, runtimeGetVersion=lambda: 12040,
    driverGetVersion=lambda: 12040, is_hip=False,
    getDeviceProperties=lambda i: {"name": b"Fake CuPy device (NumPy on the CPU)", "totalGlobalMem": 80 << 30},
    memGetInfo=lambda: (80 << 30, 80 << 30))
cuda.Stream = types.SimpleNamespace(null=types.SimpleNamespace(synchronize=lambda: None))
cuda.get_current_stream = lambda: cuda.Stream.null
get_default_memory_pool = lambda: _pool  # noqa: E731
get_default_pinned_memory_pool = lambda: _pinned_pool  # noqa: E731
