"""Register every Hedgeflow block type with the Prefect API, and save the blocks that have defaults.

Run ``python -m deployments.register`` (``make deploy`` does) against whatever
``PREFECT_API_URL`` points at. The block modules are discovered, not listed:
every module under ``blocks/`` is imported and each ``Block`` subclass it
defines is registered (``Block.register_type_and_schema`` is idempotent and
registers nested block types too), so a new block module needs no change here.

A configuration block whose fields all have defaults also gets a document
named ``default`` when none exists yet, so the Prefect UI has one to edit; an
existing document (maybe edited by a user) is never overwritten. Storage
blocks (file systems another block builds, such as the cache's tiered result
storage) get no document.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from prefect.blocks.core import Block, InvalidBlockRegistration
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.filesystems import ReadableFileSystem, WritableFileSystem

import blocks

__all__ = ["DEFAULT_DOCUMENT_NAME", "block_classes", "block_modules", "register_blocks", "save_default_documents"]

DEFAULT_DOCUMENT_NAME = "default"


def block_modules() -> list[ModuleType]:
    """Every module of the ``blocks`` package, imported; an import error is raised, not hidden."""
    names = sorted(info.name for info in pkgutil.iter_modules(blocks.__path__, prefix="blocks."))
    return [importlib.import_module(name) for name in names]


def block_classes(modules: list[ModuleType]) -> list[type[Block]]:
    """The concrete Block subclasses defined in ``modules`` (not the ones they import)."""
    found: list[type[Block]] = []
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and Block.is_block_class(cls) and not inspect.isabstract(cls):
                found.append(cls)
    return found


def register_blocks(classes: list[type[Block]]) -> list[type[Block]]:
    """Register the type and schema of each class; returns the ones registered."""
    registered: list[type[Block]] = []
    for cls in classes:
        try:
            cls.register_type_and_schema()
        except InvalidBlockRegistration:
            continue  # an interface, not a configurable block
        registered.append(cls)
    return registered


def _document_exists(cls: type[Block], name: str) -> bool:
    with get_client(sync_client=True) as client:
        try:
            client.read_block_document_by_name(name=name, block_type_slug=cls.get_block_type_slug())
        except ObjectNotFound:
            return False
    return True


def save_default_documents(classes: list[type[Block]], name: str = DEFAULT_DOCUMENT_NAME) -> list[type[Block]]:
    """Save ``cls()`` as ``name`` for each class that builds without arguments and has no such document."""
    saved: list[type[Block]] = []
    for cls in classes:
        if issubclass(cls, (ReadableFileSystem, WritableFileSystem)):
            continue
        try:
            document = cls()
        except Exception:  # noqa: BLE001 - a required field or a check that needs input: nothing to default
            continue
        if _document_exists(cls, name):
            continue
        document.save(name, overwrite=False)
        saved.append(cls)
    return saved


def main() -> int:
    classes = block_classes(block_modules())
    registered = register_blocks(classes)
    saved = save_default_documents(registered)
    for cls in registered:
        mark = f" (saved document {DEFAULT_DOCUMENT_NAME!r})" if cls in saved else ""
        print(f"registered block type {cls.get_block_type_slug()}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
