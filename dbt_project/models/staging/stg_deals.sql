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
    stage = {{ sql_literal(var('won_stage')) }} as is_won,
    stage in ({{ sql_literal(var('won_stage')) }}, {{ sql_literal(var('lost_stage')) }}) as is_closed,
    originating_lead_id,
    _file_id
from current_records
