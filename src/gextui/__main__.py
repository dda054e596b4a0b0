"""``python -m gextui`` is ``gextui``."""

from gextui.cli import main

raise SystemExit(main())
