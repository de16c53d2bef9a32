{#- How an event or a deal contact finds its lead (CONTRACT s3, s7): a lead_id
    that names a known lead record wins, through the person it was merged
    into; one that names no record falls back to the normalized email. -#}
{% macro join_lead_resolution(alias) -%}
    left join {{ ref('int_lead_id_map') }} as {{ alias }}_by_id
        on {{ alias }}.lead_id = {{ alias }}_by_id.record_lead_id
    left join {{ ref('int_persons') }} as {{ alias }}_by_email
        on {{ alias }}.email = {{ alias }}_by_email.email
{%- endmacro %}

{% macro resolved_lead_id(alias) -%}
    coalesce({{ alias }}_by_id.lead_id, {{ alias }}_by_email.lead_id)
{%- endmacro %}

{#- The events that may belong to some persons: those naming one of their
    records' lead_id or one of their emails. Resolving only these with
    join_lead_resolution gives the persons' events exactly (an event belongs to
    a person by one or the other), without resolving tens of millions of events
    to find the few thousand persons' ones. `person_ids` is a query of persons'
    lead_ids. Materialized, so that DuckDB filters the events first and joins
    the lead map and persons to the candidates only. -#}
{% macro candidate_events_of_persons(person_ids) -%}
    select * from {{ ref('stg_engagement_events') }}
    where lead_id in (
            select record_lead_id from {{ ref('int_lead_id_map') }}
            where lead_id in ({{ person_ids }})
        )
        or email in (
            select email from {{ ref('int_persons') }}
            where lead_id in ({{ person_ids }})
        )
{%- endmacro %}
