-- The change set of the lead models: every person that gained, lost or changed
-- a record in the files loaded since the last complete build, with every
-- record (lead_id, email) it had then and has now. A record re-sent with a new
-- email leaves one person and joins another: both are here. A new record older
-- than its person makes itself the person's lead_id: the old lead_id is here
-- too, being one of the person's records. Downstream, deals whose contacts name
-- any of these records or emails are rebuilt (int_deal_changes).
-- Empty outside a nightly build (a first build, a `--full-refresh`, a dbt
-- build run by hand: see macros/incremental.sql), when every incremental model
-- is rebuilt whole.
-- depends_on: {{ ref('stg_lead_versions') }}
-- depends_on: {{ ref('stg_leads') }}
{%- set built_through = built_through_file_id() %}

{% if built_through is none %}
select
    cast(null as {{ dbt.type_string() }}) as person_key,
    cast(null as {{ dbt.type_string() }}) as record_lead_id,
    cast(null as {{ dbt.type_string() }}) as email
where false
{% else %}
with changed_records as (
    select distinct _record_key
    from {{ ref('stg_lead_versions') }}
    where _file_id > {{ built_through }}
),

records_now as (
    select
        {{ person_key('email', 'lead_id') }} as person_key,
        lead_id,
        email,
        _record_key in (select _record_key from changed_records) as is_changed
    from {{ ref('stg_leads') }}
),

-- The changed records as the last complete build saw them (none for a record
-- new since); the other records are the same then and now.
changed_records_then as (
    select {{ person_key('email', 'lead_id') }} as person_key, lead_id, email
    from (
        {{ current_version(
            '(select * from ' ~ ref('stg_lead_versions') ~ ' where _record_key in (select _record_key from changed_records))',
            through_file_id=built_through
        ) }}
    )
),

changed_persons as (
    select person_key from records_now where is_changed
    union
    select person_key from changed_records_then
),

records_of_changed_persons as (
    select person_key, lead_id as record_lead_id, email from records_now
    where person_key in (select person_key from changed_persons)
    union
    select person_key, lead_id as record_lead_id, email from changed_records_then
    where person_key in (select person_key from changed_persons)
)

select person_key, record_lead_id, email
from records_of_changed_persons
{% endif %}
