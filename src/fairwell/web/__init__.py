"""The web app: recruiter pages and a JSON API over the same services as the CLI."""
