"""Daily information reports of the community information groups."""
