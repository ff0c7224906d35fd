"""The organisation of the plan: groups, posts, member departments."""
