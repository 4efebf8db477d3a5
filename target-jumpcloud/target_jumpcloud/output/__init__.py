"""What a run leaves for people: the report and summary, the review pages."""
