-- The contacts of a deal, as a set of people: the leads its deal_contacts
-- rows map to, plus the lead its originating_lead_id maps to.
with listed_contacts as (
    select
        contacts.deal_id,
        {{ resolved_lead_id('contacts') }} as lead_id
    from {{ ref('stg_deal_contacts') }} as contacts
    {{ join_lead_resolution('contacts') }}
),

originating_contacts as (
    select
        deals.deal_id,
        id_map.lead_id
    from {{ ref('stg_deals') }} as deals
    inner join {{ ref('int_lead_id_map') }} as id_map on deals.originating_lead_id = id_map.record_lead_id
)

select distinct deal_id, lead_id
from (
    select * from listed_contacts
    union all
    select * from originating_contacts
)
where lead_id is not null
