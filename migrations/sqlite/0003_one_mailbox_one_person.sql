-- `Marie.Curie@univ.fr` and `marie.curie@univ.fr` are one mailbox to a mail server: two people
-- holding them would read each other's mail, and sign-in by address could not tell them apart.
-- The import's plan compares addresses so (src/domain/import_plan.rs); here the database holds
-- to it too. Upgrading fails on "UNIQUE constraint failed: index 'people_email_lower'" if two
-- people already share one in other letters (docs/deploy.md says how to find them).
DROP INDEX people_email_lower;
CREATE UNIQUE INDEX people_email_lower ON people (lower(email));
