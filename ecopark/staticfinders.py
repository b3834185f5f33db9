"""A static files finder for the browser packages installed from npm (package.json): it offers only the files the
pages load, not the packages' whole distribution folders (ECharts alone ships 50 MB of variants)."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


class VendorFinder(BaseFinder):
    """Serves `settings.VENDOR_FILES`: {static path: file under node_modules}."""

    def _files(self) -> dict[str, Path]:
        return {path: Path(source) for path, source in settings.VENDOR_FILES.items()}

    def find(self, path, find_all=False, **kwargs):
        source = self._files().get(path)
        found = str(source) if source is not None and source.exists() else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns):
        for path, source in self._files().items():
            if source.exists():
                storage = FileSystemStorage(location=str(source.parent))
                storage.prefix = str(Path(path).parent)  # collectstatic writes the file under this folder
                yield source.name, storage
