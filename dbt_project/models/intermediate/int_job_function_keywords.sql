-- The rules file's job-function keywords, one row each; `priority` is the
-- function's position in the file (the first matching function wins).
with functions as (
    {{ unnest_lists_with_position(
        ref('stg_config__rules'),
        [['job_function_names', 'job_function'], ['job_function_keywords', 'keywords']],
        'priority'
    ) }}
)

select
    job_function,
    {{ unnest_list('keywords') }} as keyword,
    priority
from functions
