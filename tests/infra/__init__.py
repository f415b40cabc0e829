"""The deployment: the SAM template's lint, its consistency with the code, the packaging."""
