-- Every lead record's lead_id -> the lead_id of the person it was merged into.
-- Incremental: a nightly build remaps only the records of changed persons.
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='record_lead_id',
    meta={'change_set': 'changed_lead_records'},
) }}

select
    records.lead_id as record_lead_id,
    persons.lead_id
from {{ ref('stg_leads') }} as records
inner join {{ ref('int_persons') }} as persons
    on {{ person_key('records.email', 'records.lead_id') }} = {{ person_key('persons.email', 'persons.lead_id') }}
where {{ is_to_rebuild('records.lead_id', changed_lead_records()) }}
