with first_versions as (
    {{ first_version(source('raw', 'engagement_events')) }}
)

select
    event_id,
    lead_id,
    {{ normalize_email('email') }} as email,
    event_type,
    campaign_id,
    asset_name,
    occurred_at
from first_versions
