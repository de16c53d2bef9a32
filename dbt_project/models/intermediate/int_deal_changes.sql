-- The change set of int_deal_touches: every deal whose touches may differ from
-- the last complete build's. Deals re-sent or with contact rows in new files;
-- every open deal (its window ends with the as-of date); deals whose contacts
-- name a record or an email of a changed person (its events may now resolve to
-- another person, its contact set may have changed); deals with a contact
-- that has a new event; deals with a contact whose email is on an event naming
-- a changed record (a record new since makes such an event leave the person it
-- was matched to by email, a person that did not change itself). Empty outside
-- a nightly build (see int_lead_changes).
-- depends_on: {{ ref('int_lead_changes') }}
-- depends_on: {{ ref('stg_deals') }}
-- depends_on: {{ ref('stg_deal_contacts') }}
-- depends_on: {{ ref('int_engagement_events') }}
-- depends_on: {{ ref('int_deal_contacts') }}
-- depends_on: {{ ref('stg_engagement_events') }}
-- depends_on: {{ ref('int_persons') }}
{%- set built_through = built_through_file_id() %}

{% if built_through is none %}
select cast(null as {{ dbt.type_string() }}) as deal_id where false
{% else %}
with changed_lead_records as (
    select record_lead_id, email from {{ ref('int_lead_changes') }}
),

deals as (
    select * from {{ ref('stg_deals') }}
),

contact_rows as (
    select * from {{ ref('stg_deal_contacts') }}
),

new_events as (
    select lead_id from {{ ref('int_engagement_events') }}
    where _file_id > {{ built_through }} and lead_id is not null
),

-- (no `email is not null` here: DuckDB would push it into the scan and normalize
-- every event's email; a null never matches below anyway)
emails_of_events_naming_changed_records as (
    select email from {{ ref('stg_engagement_events') }}
    where lead_id in (select record_lead_id from changed_lead_records)
)

select deal_id from deals
where _file_id > {{ built_through }}
    or not is_closed
    or originating_lead_id in (select record_lead_id from changed_lead_records)
union
select deal_id from contact_rows
where _file_id > {{ built_through }}
    or lead_id in (select record_lead_id from changed_lead_records)
    or email in (select email from changed_lead_records)
union
select contacts.deal_id
from {{ ref('int_deal_contacts') }} as contacts
where contacts.lead_id in (select lead_id from new_events)
    or contacts.lead_id in (
        select lead_id from {{ ref('int_persons') }}
        where email in (select email from emails_of_events_naming_changed_records)
    )
{% endif %}
