-- Every loaded version of every lead record, typed and normalized: a record
-- re-sent in a later file appears once per file. `stg_leads` keeps the current
-- one; `int_lead_changes` also needs the one the last complete build saw.
select
    lead_id,
    {{ normalize_email('email') }} as email,
    first_name,
    last_name,
    job_title,
    company_name,
    {{ normalize_domain('company_domain') }} as company_domain,
    employee_count,
    employee_count_min,
    employee_count_max,
    {{ normalize_category('industry') }} as industry,
    country,
    lead_source,
    campaign_id,
    created_at,
    _record_key,
    _file_id,
    _row_number
from {{ source('raw', 'leads') }}
