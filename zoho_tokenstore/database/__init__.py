"""The database: URL checks, engines and their profile, exact matching, log safety, migrations."""
