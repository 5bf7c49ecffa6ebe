-- The application's role owns its tables but is neither superuser nor BYPASSRLS,
-- so the FORCEd row-level security policies apply to every query it runs.
CREATE ROLE keel LOGIN PASSWORD 'keel' NOSUPERUSER NOBYPASSRLS;
ALTER DATABASE keel OWNER TO keel;
GRANT ALL ON SCHEMA public TO keel;
-- Beat's set-based scans over all tenants read through this role (crm/scans.py only).
CREATE ROLE keel_scanner LOGIN PASSWORD 'keel_scanner' NOSUPERUSER BYPASSRLS;
GRANT keel TO keel_scanner;
