{{ config(meta={'dagster': {'ref': {'name': 'fct_leads'}}}) }}
-- CONTRACT s8: a lead's employee count is one value in three columns, taken as a
-- unit (from one record, the account's or the lead's): a plain number n is
-- (n, n, n), a range A-B is (null, A, B), A+ is (null, A, null), unknown is
-- (null, null, null). Returns the leads whose three columns do not fit together.
select lead_id, employee_count, employee_count_min, employee_count_max
from {{ ref('fct_leads') }}
where
    (employee_count is not null
        and (employee_count_min is distinct from employee_count
             or employee_count_max is distinct from employee_count))
    or (employee_count_min is null and employee_count_max is not null)
    or employee_count_max < employee_count_min
