from __future__ import annotations

from meterpipe.cli import main

main()
