"""What the commands do, apart from parsing: list, delete and purge rows, diagnose, display, demo."""
