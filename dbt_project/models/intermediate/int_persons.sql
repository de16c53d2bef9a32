-- A lead is a person (CONTRACT s3): lead records sharing a normalized email
-- are one lead. Identity fields come from the earliest record (created_at,
-- then smallest lead_id); every other attribute from the most recent record
-- where it is not null (created_at, then largest lead_id). The employee count is
-- one attribute of three columns (employee_count, employee_count_min,
-- employee_count_max: a number or a range, CONTRACT s8), taken as a unit from the
-- most recent record that has one (employee_count_min not null, a range
-- included): never a number from one record and an interval from another.
-- Incremental: a nightly build recomputes only the persons in int_lead_changes.
{{ config(
    materialized='incremental',
    incremental_strategy='change_set',
    unique_key='person_key',
    meta={'change_set': 'changed_person_keys'},
) }}

{%- set attributes = ['first_name', 'last_name', 'job_title', 'company_name', 'company_domain', 'industry', 'country'] %}
{#- the employee count's columns, taken together from one record (see above) -#}
{%- set employee_count_columns = ['employee_count', 'employee_count_min', 'employee_count_max'] %}

with records as (
    select
        *,
        {{ person_key('email', 'lead_id') }} as person_key
    from {{ ref('stg_leads') }}
    where {{ is_to_rebuild(person_key('email', 'lead_id'), changed_person_keys()) }}
),

record_counts as (
    select person_key, count(*) as lead_records
    from records
    group by person_key
),

-- Most persons have one record, which is then both the earliest and the most
-- recent: taking it as it is avoids ordered aggregates over a million groups.
single_record_persons as (
    select
        records.person_key,
        records.lead_id,
        records.created_at,
        records.lead_source,
        records.campaign_id,
        records.email,
        {%- for attribute in attributes + employee_count_columns %}
        records.{{ attribute }},
        {%- endfor %}
        1 as lead_records
    from records
    inner join record_counts on records.person_key = record_counts.person_key
    where record_counts.lead_records = 1
),

merged_persons as (
    select
        records.person_key,
        first(records.lead_id order by records.created_at, records.lead_id) as lead_id,
        min(records.created_at) as created_at,
        first(records.lead_source order by records.created_at, records.lead_id) as lead_source,
        first(records.campaign_id order by records.created_at, records.lead_id) as campaign_id,
        any_value(records.email) as email,
        {%- for attribute in attributes %}
        first(records.{{ attribute }} order by records.created_at desc, records.lead_id desc)
            filter (where records.{{ attribute }} is not null) as {{ attribute }},
        {%- endfor %}
        first({
            {%- for column in employee_count_columns %}{{ column }}: records.{{ column }}{{ ', ' if not loop.last }}{% endfor -%}
        } order by records.created_at desc, records.lead_id desc)
            filter (where records.employee_count_min is not null) as employee_count_value,
        count(*) as lead_records
    from records
    inner join record_counts on records.person_key = record_counts.person_key
    where record_counts.lead_records > 1
    group by records.person_key
),

persons as (
    select * from single_record_persons
    union all by name
    select
        * exclude (employee_count_value),
        {%- for column in employee_count_columns %}
        employee_count_value.{{ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from merged_persons
)

select
    lead_id,
    email,
    first_name,
    last_name,
    job_title,
    company_name,
    company_domain,
    coalesce(
        company_domain,
        case
            when not list_contains({{ sql_list('free_mail_domains') }}, {{ email_domain('email') }})
                then {{ email_domain('email') }}
        end
    ) as domain,
    employee_count,
    employee_count_min,
    employee_count_max,
    industry,
    country,
    lead_source,
    campaign_id,
    created_at,
    lead_records,
    person_key
from persons
