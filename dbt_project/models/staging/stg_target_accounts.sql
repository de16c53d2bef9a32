with current_records as (
    {{ current_version(source('raw', 'target_accounts')) }}
)

select
    account_id,
    {{ normalize_domain('domain') }} as domain,
    tier,
    added_at
from current_records
