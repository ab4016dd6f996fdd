"""Resource bounds for reading model files: what a hostile file can make ``load_model`` allocate.

Guarantees (see docs/guarantees.md): before any large allocation, every archive member's
declared size is checked (a stored member cannot claim more bytes than the archive has; a
compressed one may expand at most ``MAX_EXPANSION`` times; ``config.json`` is at most
``MAX_CONFIG_BYTES``), JSON is at most ``MAX_JSON_DEPTH`` levels deep, and the weights the
architecture asks for may not exceed what ``weights.safetensors`` holds
(``layers.allocation.weight_budget``). So loading a file of S bytes allocates
O(S) memory, whatever the file claims.
"""
import json
import zipfile

from ..errors import ModelFileError

MAX_CONFIG_BYTES = 64 << 20  # the largest config.json read (a threestep config is kilobytes)
MAX_EXPANSION = 64  # a compressed member may be at most this many times its compressed size
MAX_JSON_DEPTH = 64  # nesting levels of config.json (threestep writes fewer than 20)


def check_member(info, archive_bytes, filepath, is_config=False):
    """Refuse a member whose declared size is impossible or too large, before reading it."""
    name, size = info.filename, info.file_size
    if is_config and size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{filepath}: {name} declares {size} bytes; a model configuration is at most "
                             f"{MAX_CONFIG_BYTES} bytes. The file is corrupt or not a threestep model.")
    if info.compress_type == zipfile.ZIP_STORED:
        if size != info.compress_size or size > archive_bytes:
            raise ModelFileError(f"{filepath}: {name} declares {size} bytes (stored, {info.compress_size} in the "
                                 f"archive) but the whole file has {archive_bytes}. The file is truncated or tampered.")
        return
    if info.compress_size > archive_bytes or size > max(info.compress_size, 1) * MAX_EXPANSION:
        raise ModelFileError(
            f"{filepath}: {name} is compressed from {size} to {info.compress_size} bytes, more than "
            f"{MAX_EXPANSION}x (or more than the {archive_bytes}-byte file holds): refused as a possible zip bomb. "
            "threestep writes model files uncompressed; save the model again with model.save(path).")


def _depth_ok(value, limit):
    """Whether JSON data nests at most ``limit`` levels (iterative: no recursion on hostile input)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def parse_json(raw, where, limit=MAX_JSON_DEPTH):
    """``json.loads`` of bytes with every failure (bad UTF-8, syntax, depth, huge numbers) as
    ModelFileError naming ``where``."""
    try:
        value = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{where} is not valid JSON ({str(exc)[:200]}).") from None
    except RecursionError:
        value = None
        ok = False
    else:
        ok = _depth_ok(value, limit)
    if not ok:
        raise ModelFileError(f"{where} nests deeper than {limit} levels; a threestep model configuration never "
                             "does. The file is corrupt or hostile.")
    return value
