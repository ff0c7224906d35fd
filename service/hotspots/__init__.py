"""Hot-spot analysis: Gi* cells, campaign targets, the map and its snapshot."""
