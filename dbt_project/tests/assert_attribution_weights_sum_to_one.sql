{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution_touches'}}}) }}
-- CONTRACT s6: for every deal with touches and every model, the weights sum to 1.
-- Returns one row per deal and model whose weights are off by 1e-9 or more.
{%- set attribution_models = attribution_models() %}
with sums as (
    select
        deal_id,
        {%- for model in attribution_models %}
        sum(w_{{ model }}) as {{ model }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_attribution_touches') }}
    group by deal_id
)

select deal_id, model, weight_sum
from sums
unpivot (weight_sum for model in ({{ attribution_models | join(', ') }}))
where not abs(weight_sum - 1) < 1e-9 or weight_sum is null
