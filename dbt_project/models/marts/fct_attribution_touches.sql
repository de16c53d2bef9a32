-- Deal x touch with the weight and the credited amount (weight x deal amount)
-- of every attribution model (CONTRACT s6). Weights come from
-- int_attribution_weights, the one place they are defined.
-- Incremental: a nightly build recomputes the deals in int_deal_changes (every
-- deal when a campaigns file arrived: channels).
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='deal_id',
    on_schema_change='fail',
    meta={'change_set': 'changed_attribution_deal_ids'},
) }}
{%- set attribution_models = attribution_models() %}
with touches as (
    select * from {{ ref('int_attribution_touches') }}
    where {{ is_to_rebuild('deal_id', changed_attribution_deal_ids()) }}
),

weights as (
    select * from {{ ref('int_attribution_weights') }}
)

select
    touches.deal_id,
    touches.event_id,
    touches.lead_id,
    touches.occurred_at,
    touches.event_type,
    touches.campaign_id,
    touches.channel,
    touches.touch_position,
    touches.touch_count,
    touches.deal_amount,
    touches.deal_is_won,
    {%- for model in attribution_models %}
    weights.w_{{ model }},
    {%- endfor %}
    {%- for model in attribution_models %}
    weights.w_{{ model }} * touches.deal_amount as credited_{{ model }}{{ ',' if not loop.last }}
    {%- endfor %}
from touches
inner join weights
    on touches.deal_id = weights.deal_id
    and touches.event_id = weights.event_id
