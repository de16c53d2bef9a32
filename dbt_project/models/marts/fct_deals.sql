with deals as (
    select * from {{ ref('stg_deals') }}
),

originating_leads as (
    select
        id_map.record_lead_id,
        leads.lead_id,
        leads.is_marketing_source
    from {{ ref('int_lead_id_map') }} as id_map
    inner join {{ ref('fct_leads') }} as leads on id_map.lead_id = leads.lead_id
),

influence as (
    select
        deal_id,
        count(*) as influencing_touches,
        min(occurred_at) as first_influence_at
    from {{ ref('int_deal_touches') }}
    group by deal_id
),

classified as (
    select
        deals.*,
        originating_leads.lead_id as originating_person_id,
        coalesce(originating_leads.is_marketing_source, false) as is_marketing_sourced,
        coalesce(influence.influencing_touches, 0) > 0 as is_marketing_influenced,
        coalesce(influence.influencing_touches, 0) as influencing_touches,
        influence.first_influence_at
    from deals
    left join originating_leads on deals.originating_lead_id = originating_leads.record_lead_id
    left join influence on deals.deal_id = influence.deal_id
)

select
    deal_id,
    account_id,
    deal_name,
    created_at,
    closed_at,
    stage,
    amount,
    is_won,
    is_closed,
    originating_lead_id,
    originating_person_id,
    is_marketing_sourced,
    is_marketing_influenced,
    case
        when is_marketing_sourced then 'marketing_sourced'
        when is_marketing_influenced then 'marketing_influenced'
        else 'sales_only'
    end as pipeline_category,
    influencing_touches,
    first_influence_at
from classified
