"""Process plumbing, private: worker pools and clusters, the thread budget, shipping lossfilm to a
cluster, atomic file writes, the C build, signal re-delivery and the command line's torch._dynamo
stand-in. Nothing here is API; nothing here knows what a film is."""
