-- One row per campaign (CONTRACT s6): every campaign of `campaigns`, every other
-- campaign_id used by a lead (the person's campaign_id) or a deal touch (name and
-- cost null, channel 'unknown'), and one row with a null campaign_id for leads
-- and touches without a campaign. Counts and sums over nothing are 0; cost stays
-- null when unknown; ratios are null when their divisor is 0. Amounts are summed
-- with fixed_order_sum (macros/fixed_order_sum.sql): the same bits whatever the
-- order the touches are stored in.
{%- set attribution_models = attribution_models() %}
with campaigns as (
    select * from {{ ref('stg_campaigns') }}
),

leads as (
    select * from {{ ref('fct_leads') }}
),

touches as (
    select * from {{ ref('fct_attribution_touches') }}
),

campaign_ids as (
    -- UNION (not ALL) keeps one row per id, and one null row
    select campaign_id from campaigns
    union
    select campaign_id from leads
    union
    select campaign_id from touches
    union
    select cast(null as {{ dbt.type_string() }})
),

lead_counts as (
    select
        campaign_id,
        count(*) as leads,
        count(*) filter (where is_sal) as sals
    from leads
    group by campaign_id
),

influence as (
    -- each deal once per campaign, whatever its number of touches of the campaign
    select
        campaign_id,
        count(*) as influenced_deals,
        {{ fixed_order_sum('deal_amount') }} as influenced_pipeline
    from (select distinct campaign_id, deal_id, deal_amount from touches)
    group by campaign_id
),

attribution as (
    select
        campaign_id,
        {%- for model in attribution_models %}
        {{ fixed_order_sum('credited_' ~ model) }} as attributed_pipeline_{{ model }},
        {{ fixed_order_sum('credited_' ~ model, where='deal_is_won') }} as attributed_won_{{ model }}{{ ',' if not loop.last }}
        {%- endfor %}
    from touches
    group by campaign_id
)

select
    campaign_ids.campaign_id,
    campaigns.campaign_name,
    coalesce(campaigns.channel, 'unknown') as channel,
    campaigns.cost,
    coalesce(lead_counts.leads, 0) as leads,
    coalesce(lead_counts.sals, 0) as sals,
    lead_counts.sals / nullif(lead_counts.leads, 0) as lead_to_sal_pct,
    coalesce(influence.influenced_deals, 0) as influenced_deals,
    coalesce(influence.influenced_pipeline, 0) as influenced_pipeline,
    {%- for model in attribution_models %}
    coalesce(attribution.attributed_pipeline_{{ model }}, 0) as attributed_pipeline_{{ model }},
    {%- endfor %}
    {%- for model in attribution_models %}
    coalesce(attribution.attributed_won_{{ model }}, 0) as attributed_won_{{ model }},
    {%- endfor %}
    campaigns.cost / nullif(lead_counts.leads, 0) as cost_per_lead,
    campaigns.cost / nullif(lead_counts.sals, 0) as cost_per_sal
from campaign_ids
left join campaigns on campaign_ids.campaign_id = campaigns.campaign_id
left join lead_counts on campaign_ids.campaign_id is not distinct from lead_counts.campaign_id
left join influence on campaign_ids.campaign_id is not distinct from influence.campaign_id
left join attribution on campaign_ids.campaign_id is not distinct from attribution.campaign_id
