{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution_touches'}}}) }}
-- CONTRACT s6: credited = weight x deal amount, so per model the credited
-- amounts of a deal add up to its amount, and exactly the deals with touches
-- (fct_deals.influencing_touches > 0) have attribution rows, as many as touches.
-- Returns one row per deal (and model) that breaks this.
{%- set attribution_models = attribution_models() %}
with credited as (
    select
        deal_id,
        count(*) as touch_rows,
        min(touch_count) as min_touch_count,
        max(touch_count) as max_touch_count,
        {%- for model in attribution_models %}
        sum(credited_{{ model }}) as {{ model }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_attribution_touches') }}
    group by deal_id
),

deals as (
    select deal_id, amount, influencing_touches
    from {{ ref('fct_deals') }}
    where influencing_touches > 0
),

per_model as (
    select deal_id, model, credited_sum
    from credited
    unpivot (credited_sum for model in ({{ attribution_models | join(', ') }}))
)

select
    coalesce(deals.deal_id, credited.deal_id) as deal_id,
    'rows' as model,
    credited.touch_rows as found,
    deals.influencing_touches as expected
from deals
full outer join credited on deals.deal_id = credited.deal_id
where deals.deal_id is null
    or credited.deal_id is null
    or credited.touch_rows <> deals.influencing_touches
    or credited.min_touch_count <> deals.influencing_touches
    or credited.max_touch_count <> deals.influencing_touches

union all

select
    per_model.deal_id,
    per_model.model,
    per_model.credited_sum as found,
    deals.amount as expected
from per_model
inner join deals on per_model.deal_id = deals.deal_id
where not abs(per_model.credited_sum - deals.amount) <= 1e-9 * greatest(1, abs(deals.amount))
    or per_model.credited_sum is null
