#!/usr/bin/env python3
"""Render films of neural-network loss landscapes: python render.py [SCENE_FILE ...] [options]; see --help."""
import sys

from lossfilm.cli import main

if __name__ == "__main__":
    sys.exit(main())
