-- The rules file (validated by Python) and the as-of date of the run: one row.
-- Every column of config.rules is a setting of the rules model
-- (orchestration/baton/lib/rules.py), so a new SAL rule's settings arrive here
-- without being listed. The file's path is provenance, not definition.
select
    * except (rules_path),
    -- the influence window of an open deal ends before 00:00 UTC of the day after the as-of date
    cast(as_of_date + interval 1 day as timestamp) as as_of_end
from {{ source('config', 'rules') }}
