"""Stage four: RGBA frames from a Landscape and its frame plan. A painter is made of layers:

* ``colors``: colours and heights every view shares (page and mesh use it without the painter);
* ``geometry`` and ``surface``: the surface as drawn and mplot3d's fast paths;
* ``axes3d``: the lean 3-D axes; ``chrome``: the static text layer and the loss inset;
* ``overlays``: what is pasted onto each frame (HUD, run lines, star names, arrows), one small protocol;
* ``painter`` (3-D), ``flat`` (seen from above), ``panels`` (a comparison): they own these parts.

Importing this package imports none of them (matplotlib's figure and 3-D axes cost 0.2 s)."""
