-- Every lead record's lead_id -> the lead_id of the person it was merged into.
select
    records.lead_id as record_lead_id,
    persons.lead_id
from {{ ref('stg_leads') }} as records
inner join {{ ref('int_persons') }} as persons
    on coalesce('email:' || records.email, 'lead_id:' || records.lead_id)
        = coalesce('email:' || persons.email, 'lead_id:' || persons.lead_id)
