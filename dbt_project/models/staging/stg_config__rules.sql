-- The rules file (validated by Python) and the as-of date of the run: one row.
select
    rules_version,
    as_of_date,
    -- the influence window of an open deal ends before 00:00 UTC of the day after the as-of date
    cast(as_of_date + interval 1 day as timestamp) as as_of_end,
    sal_rules,
    finance_job_function,
    job_function_names,
    job_function_keywords,
    company_size_min_exclusive,
    company_size_max_inclusive,
    industries,
    marketing_sources_include,
    marketing_sources_exclude,
    influence_lookback_days,
    time_decay_half_life_days,
    abm_window_days,
    undetermined_share_max
from {{ source('config', 'rules') }}
