"""crm's pages, one module per concern: accounts (sign-in, landing), members, workspace
settings, notifications, system (health check, error pages)."""
