"""The scenes that ship with lossfilm (``lossfilm --list``); each file is a scene, rendered by name."""
