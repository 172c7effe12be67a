-- Staff, student and INE numbers are each held by only some people: indexed only where
-- present. The same uniqueness (NULLs never collided), and an import writes a fifth fewer
-- index entries (docs/performance.md).
ALTER TABLE people
    DROP CONSTRAINT people_staff_number_key,
    DROP CONSTRAINT people_student_number_key,
    DROP CONSTRAINT people_ine_key;
CREATE UNIQUE INDEX people_staff_number_key ON people (staff_number) WHERE staff_number IS NOT NULL;
CREATE UNIQUE INDEX people_student_number_key ON people (student_number) WHERE student_number IS NOT NULL;
CREATE UNIQUE INDEX people_ine_key ON people (ine) WHERE ine IS NOT NULL;
