-- One row per event: the extract step already keeps the first loaded version
-- of a repeated event_id (events are immutable) and quarantines later ones,
-- so nothing here re-reads all events to deduplicate them.
select
    event_id,
    lead_id,
    {{ normalize_email('email') }} as email,
    event_type,
    campaign_id,
    asset_name,
    occurred_at,
    _file_id
from {{ source('raw', 'engagement_events') }}
