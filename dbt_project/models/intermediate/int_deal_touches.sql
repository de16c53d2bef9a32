-- Touches: events of a deal's contacts inside its influence window
-- (CONTRACT s5, s7). The window starts `lookback` days (x 24 h) before the
-- deal's created_at, included, and ends at closed_at (included) for a closed
-- deal, or before 00:00 UTC of the day after the as-of date while open. One
-- event counts once per deal, and may count for several deals.
-- Incremental: a nightly build recomputes the deals in int_deal_changes.
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='deal_id',
    meta={'change_set': 'changed_deal_ids'},
) }}

with deals as (
    select
        deals.deal_id,
        deals.is_closed,
        deals.closed_at,
        {{ minus_microseconds('deals.created_at', 'cast(round(rules.influence_lookback_days * 86400000000) as bigint)') }} as window_start,
        rules.as_of_end
    from {{ ref('stg_deals') }} as deals
    cross join {{ ref('stg_config__rules') }} as rules
    where {{ is_to_rebuild('deals.deal_id', changed_deal_ids()) }}
),

contacts as (
    select deal_id, lead_id
    from {{ ref('int_deal_contacts') }}
    where deal_id in (select deal_id from deals)
),

candidate_events as {{ materialized_cte() }} (
    {{ candidate_events_of_persons('select lead_id from contacts') }}
),

events as (
    select
        events.event_id,
        {{ resolved_lead_id('events') }} as lead_id,
        events.occurred_at,
        events.event_type,
        events.campaign_id
    from candidate_events as events
    {{ join_lead_resolution('events') }}
)

select
    deals.deal_id,
    events.event_id,
    events.lead_id,
    events.occurred_at,
    events.event_type,
    events.campaign_id
from deals
inner join contacts on deals.deal_id = contacts.deal_id
inner join events on contacts.lead_id = events.lead_id
where events.occurred_at >= deals.window_start
    and case
        when deals.is_closed then events.occurred_at <= deals.closed_at
        else events.occurred_at < deals.as_of_end
    end
