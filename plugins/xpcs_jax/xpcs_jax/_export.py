"""Traced programs kept across processes (``jax.export``).

jax's persistent compilation cache (:mod:`xpcs_jax.runtime`) saves the XLA compilation,
but every new process still traces and lowers the program, which for the vmapped
least-squares solve takes longer than the compilation it saves. :func:`program` stores
the exported (traced and lowered) program in ``XPCS_CACHE_DIR``/jax-export, keyed by
its name, the shapes and dtypes of its arguments, the jax version and platform and a
digest of the code that defines it; a later process deserializes and calls it without
tracing (and without importing the libraries that built it), and its compilation is a
persistent-cache hit. ``XPCS_CACHE_DIR=none`` turns it off. An unreadable file is
replaced.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xpcs_core import config
from xpcs_core.errors import XpcsInputError
from xpcs_core.io.atomic import atomic_path
from xpcs_jax.runtime import jax_module

log = logging.getLogger(__name__)


def code_digest(*parts: Any) -> str:
    """A digest of modules (named: their source files, read without importing them) and
    functions (their code and their module's source): what a stored program must be
    rebuilt after changing."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"none")
            continue
        if isinstance(part, str):
            spec = importlib.util.find_spec(part)
            source = spec.origin if spec is not None else None
        else:
            source = getattr(inspect.getmodule(part), "__file__", None)
        if source and os.path.exists(source):
            h.update(Path(source).read_bytes())
        code = getattr(part, "__code__", None)
        if code is not None:
            h.update(f"{part.__module__}.{part.__qualname__}".encode() + code.co_code + repr(code.co_consts).encode())
    return h.hexdigest()


def _specs(jax: Any, args: tuple[Any, ...]) -> str:
    leaves, tree = jax.tree.flatten(args)
    return repr(tree) + repr([(tuple(a.shape), str(a.dtype)) for a in leaves])


def program(name: str, build: Callable[[], Any], key: str, args: tuple[Any, ...]) -> Callable[..., Any]:
    """A function equal to ``build()`` (a ``jax.jit`` function) for arguments shaped like
    ``args``: the stored export when there is one, else traced now and stored."""
    folder = config.cache_dir()
    jax = jax_module()
    if folder is None or jax.config.jax_disable_jit:  # off, or running eagerly on purpose
        return build()
    ident = "|".join((name, key, _specs(jax, args), jax.__version__, jax.default_backend(),
                      str(jax.devices()[0].device_kind)))
    path = folder / "jax-export" / f"{name}-{hashlib.sha256(ident.encode()).hexdigest()[:32]}.bin"
    return _load_or_export(path, build, args)


#: the programs of this process, by stored file
PROGRAMS: dict[Path, Callable[..., Any]] = {}


def _loaded(path: Path) -> Callable[..., Any] | None:
    jax = jax_module()
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        return jax.export.deserialize(bytearray(blob)).call
    except Exception as exc:  # a partial or foreign file: rebuild it
        log.warning("jax: stored program %s is unreadable (%s); tracing again", path.name, exc)
        path.unlink(missing_ok=True)
        return None


def _load_or_export(path: Path, build: Callable[[], Any], args: tuple[Any, ...]) -> Callable[..., Any]:
    if path not in PROGRAMS:
        PROGRAMS[path] = _loaded(path) or _export(path, build, args)
    return PROGRAMS[path]


def _export(path: Path, build: Callable[[], Any], args: tuple[Any, ...]) -> Callable[..., Any]:
    jax = jax_module()
    jitted = build()
    try:
        # the stored program is used only with this jax version on this platform, so the
        # custom calls (LAPACK, cuSOLVER) need no cross-version guarantee
        everything = jax.export.DisabledSafetyCheck.custom_call("ALL")
        exported = jax.export.export(jitted, disabled_checks=[everything])(*args)
    except Exception as exc:  # a program jax cannot export: trace it in every process
        log.info("jax: %s cannot be stored (%s)", path.name, str(exc).splitlines()[0])
        return jitted
    try:
        blob = exported.serialize()
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(blob)
    except (OSError, ImportError, XpcsInputError) as exc:  # a read-only cache: this process still runs it
        log.warning("jax: cannot store the traced program in %s (%s)", path.parent, exc)
    # call the export here too, so that the next process compiles the same module and
    # finds it in jax's persistent compilation cache
    return exported.call
