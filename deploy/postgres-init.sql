-- The application's role owns its tables but is neither superuser nor BYPASSRLS,
-- so the FORCEd row-level security policies apply to every query it runs.
CREATE ROLE keel LOGIN PASSWORD 'keel' NOSUPERUSER NOBYPASSRLS;
ALTER DATABASE keel OWNER TO keel;
GRANT ALL ON SCHEMA public TO keel;
