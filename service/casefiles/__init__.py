"""Case files (案卷) of the case team: each filed case's documents, photos, timeline and
outcome; archived when closed; typical cases (典型案例) marked with a summary."""
