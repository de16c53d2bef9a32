with current_records as (
    {{ current_version(source('raw', 'deals')) }}
)

select
    deal_id,
    account_id,
    deal_name,
    created_at,
    closed_at,
    stage,
    amount,
    stage = 'closed_won' as is_won,
    stage in ('closed_won', 'closed_lost') as is_closed,
    originating_lead_id,
    _file_id
from current_records
