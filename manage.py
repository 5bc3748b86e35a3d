#!/usr/bin/env python
"""Django's command-line utility; `tongxin` (tongxin/cli.py) is the same with short aliases."""

from tongxin.cli import main

if __name__ == "__main__":
    main()
