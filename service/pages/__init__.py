"""The pages: the jurisdiction map and the console, their templates and static files."""
