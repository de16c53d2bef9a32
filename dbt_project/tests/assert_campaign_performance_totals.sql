{{ config(meta={'dagster': {'ref': {'name': 'campaign_performance'}}}) }}
-- CONTRACT s6: every touch and every lead lands on exactly one campaign row
-- (the null-campaign row included), so over all rows of campaign_performance
-- attributed_pipeline_<model> adds up to the amounts of the deals with touches,
-- attributed_won_<model> to those of the won ones, and leads / sals to fct_leads.
-- Returns one row per figure that does not add up.
{%- set attribution_models = attribution_models() %}
with deals as (
    select
        coalesce(sum(amount), 0) as pipeline,
        coalesce(sum(amount) filter (where is_won), 0) as won
    from {{ ref('fct_deals') }}
    where influencing_touches > 0
),

leads as (
    select count(*) as leads, count(*) filter (where is_sal) as sals
    from {{ ref('fct_leads') }}
),

campaigns as (
    select
        sum(leads) as leads,
        sum(sals) as sals,
        count(*) filter (where campaign_id is null) as null_campaign_rows,
        {%- for model in attribution_models %}
        sum(attributed_pipeline_{{ model }}) as pipeline_{{ model }},
        sum(attributed_won_{{ model }}) as won_{{ model }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('campaign_performance') }}
),

checks as (
    select 'null_campaign_rows' as figure, campaigns.null_campaign_rows::double as found, 1::double as expected, 0::double as tolerance
    from campaigns
    union all
    select 'leads', campaigns.leads, leads.leads, 0 from campaigns, leads
    union all
    select 'sals', campaigns.sals, leads.sals, 0 from campaigns, leads
    {%- for model in attribution_models %}
    union all
    select 'attributed_pipeline_{{ model }}', campaigns.pipeline_{{ model }}, deals.pipeline,
        1e-9 * greatest(1, abs(deals.pipeline)) from campaigns, deals
    union all
    select 'attributed_won_{{ model }}', campaigns.won_{{ model }}, deals.won,
        1e-9 * greatest(1, abs(deals.won)) from campaigns, deals
    {%- endfor %}
)

select figure, found, expected
from checks
where not abs(found - expected) <= tolerance or found is null
