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
