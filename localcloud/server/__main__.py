from __future__ import annotations

from localcloud.server.main import main

main()
