"""Stage five: a film's outputs. The format table (``formats``), the film that loops over it (``film``),
the writers and encoders (``encode``), a worker's segment (``segments``), and the number formats' own
writers (``page``: the interactive html, ``mesh``: PLY)."""
