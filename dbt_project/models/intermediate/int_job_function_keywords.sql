-- The rules file's job-function keywords, one row each; `priority` is the
-- function's position in the file (the first matching function wins).
with functions as (
    select
        unnest(job_function_names) as job_function,
        unnest(job_function_keywords) as keywords,
        generate_subscripts(job_function_names, 1) as priority
    from {{ ref('stg_config__rules') }}
)

select
    job_function,
    unnest(keywords) as keyword,
    priority
from functions
