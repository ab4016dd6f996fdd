"""Say what a file that is not a threestep model file looks like, from its first bytes."""
import os


def looks_like_pickle(head):
    """Pickle protocols 2-5 start with the PROTO opcode 0x80 and the protocol number."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def describe_foreign_file(filepath):
    """A clear error message for a file that zipfile refused (or that is not safetensors)."""
    with open(filepath, "rb") as f:
        head = f.read(16)
    size = os.path.getsize(filepath)
    not_ours = f"{filepath} is not a threestep model file"
    if not head:
        return (f"{filepath} is empty (0 bytes); it is not a threestep model file. Was a save interrupted, or the "
                "wrong path given? Save it again with model.save(path).")
    if looks_like_pickle(head):
        return f"{not_ours} (it looks like a Python pickle; threestep never loads pickles)."
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return f"{not_ours} (it is an HDF5 file, such as a Keras .h5 model; threestep does not read HDF5)."
    if head.startswith(b"PK"):
        return (f"{filepath} is truncated or corrupt: it starts like a zip archive but its directory is missing "
                f"or damaged ({size} bytes). Was it cut off while copying? Copy it again or save it again with "
                "model.save(path).")
    if len(head) >= 9 and head[8:9] == b"{":
        return (f"{not_ours}: it looks like a bare safetensors weights file; load it into a model with "
                f"model.load_weights({os.fspath(filepath)!r}).")
    return (f"{not_ours} (not a zip archive; starts with {head[:8]!r}). Pass a file written by model.save(path); "
            "for weights alone use model.load_weights.")
