"""Build hook (hatchling): record in the package which commit it was built from.

driftaudit is installed from its repository at a pinned commit (``pip install
git+https://github.com/OWNER/driftaudit@SHA``, pre-commit, the GitHub Action), so
``driftaudit --version`` must say which commit. A wheel or sdist gets ``driftaudit/_build.py``
holding ``COMMIT``, taken from, in order:

1. git, when the source tree is a checkout (what pip builds from for ``git+https://``);
2. ``.git_archival.txt``, which ``git archive`` fills in (``export-subst`` in
   ``.gitattributes``): GitHub's tarballs, such as the copy of this repository a workflow's
   ``uses: OWNER/driftaudit@SHA`` runs, are made by ``git archive``;
3. a ``driftaudit/_build.py`` already in the tree (a wheel built from an sdist this hook
   made): packaged as it is.

Editable installs record nothing: ``driftaudit/provenance.py`` reads the checkout's HEAD when
asked, so it follows later commits. Nothing is written into the source tree.
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TARGET = "driftaudit/_build.py"


def _provenance(root: Path) -> Any:
    """driftaudit/provenance.py loaded by path (the package is not installed while it builds,
    and its module is the one home of how a checkout's commit is read)."""
    path = root / "driftaudit" / "provenance.py"
    spec = importlib.util.spec_from_file_location("_driftaudit_provenance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_commit(root: Path) -> str | None:
    provenance = _provenance(root)
    found = provenance.checkout_commit(root)
    if found:
        return str(found)
    archival = root / ".git_archival.txt"
    if archival.is_file():
        m = re.search(r"^node: (\S+)$", archival.read_text(encoding="utf-8"), re.M)
        # Unfilled ("$Format:%H$") outside an archive: no commit known from it.
        if m and provenance.COMMIT.fullmatch(m.group(1)):
            return m.group(1)
    return None


class CustomBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel", "sdist") or version == "editable":
            return
        commit = source_commit(Path(self.root))
        if commit is None:
            return  # an sdist's own _build.py is packaged as it is; else "unknown"
        self._temp = tempfile.TemporaryDirectory(prefix="driftaudit-build-")
        path = Path(self._temp.name) / "_build.py"
        path.write_text(
            f'# Written by hatch_build.py when this package was built.\nCOMMIT = "{commit}"\n',
            encoding="utf-8",
        )
        build_data["force_include"][str(path)] = TARGET

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        temp = getattr(self, "_temp", None)
        if temp is not None:
            temp.cleanup()
