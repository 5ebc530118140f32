-- The triage trigger (020) writes whitelist entries with the reviewer in created_by / lifted_by, columns
-- analysts may not set themselves (a hand-made entry's created_by is always the login role). Run it with
-- its owner's rights, so an analyst's false_positive review can add the entry; it names every object
-- with its schema, and a fixed search_path keeps it from resolving anything else.
alter function sentinel.alerts_triage() security definer set search_path = pg_catalog, pg_temp;
revoke all on function sentinel.alerts_triage() from public;
