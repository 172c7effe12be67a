-- `Marie.Curie@univ.fr` and `marie.curie@univ.fr` are one mailbox to a mail server: two people
-- holding them would read each other's mail, and sign-in by address could not tell them apart.
-- The import's plan compares addresses so (src/domain/import_plan.rs); here the database holds
-- to it too. The unique index on `lower(email)` also serves sign-in's lookup in any case, so the
-- case-sensitive one goes, and a first load builds one index fewer.
DO $$
DECLARE
    shared text;
BEGIN
    SELECT string_agg(format('%s (uids %s)', address, uids), '; ') INTO shared
    FROM (SELECT lower(email) AS address, string_agg(uid, ', ' ORDER BY uid) AS uids
          FROM people GROUP BY 1 HAVING count(*) > 1) AS clash;
    IF shared IS NOT NULL THEN
        RAISE EXCEPTION 'people share an e-mail address written in other letters: %; give each one '
            'its own address, then run sesame migrate again (docs/deploy.md)', shared;
    END IF;
END $$;
ALTER TABLE people DROP CONSTRAINT people_email_key;
DROP INDEX people_email_lower;
CREATE UNIQUE INDEX people_email_lower ON people (lower(email));
