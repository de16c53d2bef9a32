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
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='person_key',
    meta={'change_set': 'changed_person_keys'},
) }}

{%- set attributes = ['first_name', 'last_name', 'job_title', 'company_name', 'company_domain', 'industry', 'country'] %}
{#- the employee count's columns, taken together from one record (see above) -#}
{%- set employee_count_columns = ['employee_count', 'employee_count_min', 'employee_count_max'] %}
{#- a person's records from the earliest (created_at, then lead_id) -#}
{%- set earliest = ['records.created_at', 'records.lead_id'] %}
{#- the columns of a person, in the order both branches of `persons` give them -#}
{%- set person_columns = ['person_key', 'lead_id', 'created_at', 'lead_source', 'campaign_id', 'email'] + attributes + employee_count_columns + ['lead_records'] %}

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
        {{ first_in_order('records.lead_id', earliest) }} as lead_id,
        min(records.created_at) as created_at,
        {{ first_in_order('records.lead_source', earliest) }} as lead_source,
        {{ first_in_order('records.campaign_id', earliest) }} as campaign_id,
        any_value(records.email) as email,
        {%- for attribute in attributes %}
        {{ first_in_order('records.' ~ attribute, earliest, descending=true) }}
            filter (where records.{{ attribute }} is not null) as {{ attribute }},
        {%- endfor %}
        {%- set employee_count_fields = {} %}
        {%- for column in employee_count_columns %}{% do employee_count_fields.update({column: 'records.' ~ column}) %}{% endfor %}
        {{ first_in_order(struct_of(employee_count_fields), earliest, descending=true) }}
            filter (where records.employee_count_min is not null) as employee_count_value,
        count(*) as lead_records
    from records
    inner join record_counts on records.person_key = record_counts.person_key
    where record_counts.lead_records > 1
    group by records.person_key
),

persons as (
    select {{ person_columns | join(', ') }} from single_record_persons
    union all
    select
        {%- for column in person_columns %}
        {% if column in employee_count_columns %}employee_count_value.{{ column }} as {% endif %}{{ column }}{{ ',' if not loop.last }}
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
            when not {{ list_has(sql_list('free_mail_domains'), email_domain('email')) }}
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
