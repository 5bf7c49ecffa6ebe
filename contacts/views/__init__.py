"""The contacts pages; see urls.py for where each lives."""
