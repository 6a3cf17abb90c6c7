"""CloudFormation on localcloud: MiniStack's engine, with localcloud's own resource providers for
the services localcloud serves itself (see ``engine``)."""

from __future__ import annotations

from localcloud.cloudformation.engine import EngineMismatch, install

__all__ = ["EngineMismatch", "install"]
