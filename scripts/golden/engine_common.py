"""Helpers shared by the engine golden scripts."""


def fnv1a64(data: bytes) -> str:
    """FNV-1a 64-bit hash as 16 hex digits (the Swift tests compute the same)."""
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def strided(flat, stride):
    """Every `stride`-th value, from index 0, as plain Python numbers."""
    return [v.item() for v in flat[::stride]]
