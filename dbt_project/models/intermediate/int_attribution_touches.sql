-- Touches of a deal for attribution (CONTRACT s6): the events counted as
-- influence in s5 (int_deal_touches), ordered by occurred_at, then event_id,
-- as t1 .. tn, with the campaign's channel ('unknown' when the touch has no
-- campaign, the campaign is not in `campaigns`, or its channel is blank) and
-- the deal facts the weights need. A deal without touches has no rows here.
-- Incremental: a nightly build recomputes the deals in int_deal_changes (every
-- deal when a campaigns file arrived: channels).
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='deal_id',
    meta={'change_set': 'changed_attribution_deal_ids'},
) }}
with touches as (
    select * from {{ ref('int_deal_touches') }}
    where {{ is_to_rebuild('deal_id', changed_attribution_deal_ids()) }}
),

deals as (
    select * from {{ ref('stg_deals') }}
),

campaigns as (
    select * from {{ ref('stg_campaigns') }}
)

select
    touches.deal_id,
    touches.event_id,
    touches.lead_id,
    touches.occurred_at,
    touches.event_type,
    touches.campaign_id,
    coalesce(campaigns.channel, 'unknown') as channel,
    -- BIGINT on both engines (Spark's row_number is an INT)
    cast(row_number() over (
        partition by touches.deal_id order by touches.occurred_at, touches.event_id
    ) as bigint) as touch_position,
    count(*) over (partition by touches.deal_id) as touch_count,
    deals.created_at as deal_created_at,
    deals.closed_at as deal_closed_at,
    deals.is_closed as deal_is_closed,
    deals.is_won as deal_is_won,
    deals.amount as deal_amount
from touches
inner join deals on touches.deal_id = deals.deal_id
left join campaigns on touches.campaign_id = campaigns.campaign_id
