"""Layer versions, their features, and the active layer's resolver and road graph."""
