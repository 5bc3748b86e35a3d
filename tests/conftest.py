"""Fixtures for the project-level tests: the same fixed world (and cache clearing) that
tongxin/conftest.py gives the tests inside the package, which that conftest does not reach."""

from __future__ import annotations

from tongxin.conftest import _clear_process_caches, _restore_language, world  # noqa: F401 - re-exported fixtures
