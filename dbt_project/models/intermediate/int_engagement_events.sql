-- Engagement events with the person they belong to. A lead_id that names a
-- known lead record wins; otherwise the normalized email. Events matching no
-- lead stay here with a null lead_id (counted, never dropped).
-- A view: events are the one large input (20 per lead), and writing them out
-- again each night would cost more than everything else. Readers filter it
-- (ABM by date, which DuckDB pushes below the joins; deal touches by person),
-- and a lead record arriving tonight re-assigns last year's events at once.
{{ config(materialized='view') }}

select
    events.event_id,
    {{ resolved_lead_id('events') }} as lead_id,
    events.lead_id as source_lead_id,
    events.email,
    events.event_type,
    events.campaign_id,
    events.asset_name,
    events.occurred_at,
    events._file_id
from {{ ref('stg_engagement_events') }} as events
{{ join_lead_resolution('events') }}
