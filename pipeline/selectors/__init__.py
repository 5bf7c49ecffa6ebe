"""Reads that are more than a one-line query, by concern: `board` (columns and cards),
`deals` (lists, a record's deals, the deal page), `forecast`, `config` (the settings
pages), and `common` (staleness and the facts a card shows, which they share).

Each answers in a number of queries that does not grow with the number of deals.
"""
