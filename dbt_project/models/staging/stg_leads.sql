with current_records as (
    {{ current_version(source('raw', 'leads')) }}
)

select
    lead_id,
    {{ normalize_email('email') }} as email,
    first_name,
    last_name,
    job_title,
    company_name,
    {{ normalize_domain('company_domain') }} as company_domain,
    employee_count,
    {{ normalize_category('industry') }} as industry,
    country,
    lead_source,
    campaign_id,
    created_at
from current_records
