-- Touches: events of a deal's contacts inside its influence window
-- (CONTRACT s5, s7). The window starts `lookback` days (x 24 h) before the
-- deal's created_at, included, and ends at closed_at (included) for a closed
-- deal, or before 00:00 UTC of the day after the as-of date while open. One
-- event counts once per deal, and may count for several deals.
with deals as (
    select
        deals.deal_id,
        deals.is_closed,
        deals.closed_at,
        deals.created_at
            - to_microseconds(cast(round(rules.influence_lookback_days * 86400000000) as bigint)) as window_start,
        rules.as_of_end
    from {{ ref('stg_deals') }} as deals
    cross join {{ ref('stg_config__rules') }} as rules
)

select
    deals.deal_id,
    events.event_id,
    events.lead_id,
    events.occurred_at,
    events.event_type,
    events.campaign_id
from deals
inner join {{ ref('int_deal_contacts') }} as contacts on deals.deal_id = contacts.deal_id
inner join {{ ref('int_engagement_events') }} as events on contacts.lead_id = events.lead_id
where events.occurred_at >= deals.window_start
    and case
        when deals.is_closed then events.occurred_at <= deals.closed_at
        else events.occurred_at < deals.as_of_end
    end
