with current_records as (
    {{ current_version(source('raw', 'deal_contacts')) }}
)

select
    deal_id,
    lead_id,
    {{ normalize_email('email') }} as email,
    role,
    _file_id
from current_records
