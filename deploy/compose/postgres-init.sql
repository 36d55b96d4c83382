-- The county's database and role, as a platform team creates them for each county
-- (docs/operations.md, "Adding a county"): the role owns its database and nothing else, and no
-- other role may connect to it. Hearth creates one schema per service inside it.
CREATE ROLE hearth_dalarna LOGIN PASSWORD 'hearth-dev';
CREATE DATABASE hearth_dalarna OWNER hearth_dalarna;
REVOKE ALL ON DATABASE hearth_dalarna FROM PUBLIC;
