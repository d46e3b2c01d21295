"""SQLAlchemy-backed token store for the Zoho CRM Python SDK."""
