with current_records as (
    {{ current_version(source('raw', 'campaigns')) }}
)

select
    campaign_id,
    campaign_name,
    channel,
    cost,
    start_date,
    end_date,
    _file_id
from current_records
