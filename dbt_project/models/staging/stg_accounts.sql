with current_records as (
    {{ current_version(source('raw', 'accounts')) }}
)

select
    account_id,
    account_name,
    {{ normalize_domain('domain') }} as domain,
    employee_count,
    employee_count_min,
    employee_count_max,
    {{ normalize_category('industry') }} as industry,
    country,
    _file_id
from current_records
