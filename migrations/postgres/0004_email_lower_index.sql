-- Sign-in finds a person by login or by e-mail in any case (`lower(email) = $1`): without
-- this index, each attempt read the whole people table (50 ms for 100,000 people).
CREATE INDEX people_email_lower ON people (lower(email));
