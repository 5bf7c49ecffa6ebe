"""Pipeline pages: the board and the move dialog, deal pages, the forecast, settings."""
