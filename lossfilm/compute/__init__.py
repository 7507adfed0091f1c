"""Stage two: a Scene's numbers. Trains every run (or steps a point on a textbook surface), builds the
plane, and evaluates the loss on the grid and along every path in batches, into a Landscape; keeps it
in a content-addressed cache. Knows nothing of matplotlib, video, colours or labels.

``build`` is the stage's entry (``compute``, ``preflight``); the other modules are its parts."""
