#!/usr/bin/env python3
"""Render films of neural-network loss landscapes: python render.py [SCENE_FILE ...] [options]; see --help."""
from lossfilm.cli import run

if __name__ == "__main__":
    run()
