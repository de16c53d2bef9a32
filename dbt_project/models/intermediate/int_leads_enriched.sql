-- Persons with their account, firmographics (account value first, lead value
-- second; the employee count's three columns -- a number or a range, CONTRACT
-- s8 -- as a unit: the account's when it has one, a range included, else the
-- lead's) and job function (a title has a function when it contains one of
-- its keywords, case-insensitively; blank title -> null; no match -> other).
-- Incremental: a nightly build recomputes the leads of changed persons, or
-- every lead when an accounts file arrived.
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='lead_id',
    meta={'change_set': 'changed_lead_ids'},
) }}

with persons as (
    select * from {{ ref('int_persons') }}
    where {{ is_to_rebuild('lead_id', changed_lead_ids()) }}
),

title_functions as (
    select
        persons.lead_id,
        min_by(keywords.job_function, keywords.priority) as job_function
    from persons
    inner join {{ ref('int_job_function_keywords') }} as keywords
        on contains(lower(persons.job_title), keywords.keyword)
    group by persons.lead_id
),

rules as (
    select * from {{ ref('stg_config__rules') }}
)

select
    persons.lead_id,
    persons.email,
    persons.first_name,
    persons.last_name,
    persons.job_title,
    persons.company_name,
    persons.country,
    persons.domain,
    account_domains.account_id,
    case
        when persons.job_title is null then null
        else coalesce(title_functions.job_function, 'other')
    end as job_function,
    {%- for column in ['employee_count', 'employee_count_min', 'employee_count_max'] %}
    case
        when accounts.employee_count_min is not null then accounts.{{ column }}
        else persons.{{ column }}
    end as {{ column }},
    {%- endfor %}
    coalesce(accounts.industry, persons.industry) as industry,
    persons.lead_source,
    case
        when rules.marketing_sources_include is not null
            then {{ list_has('rules.marketing_sources_include', 'lower(persons.lead_source)') }}
        else not {{ list_has('rules.marketing_sources_exclude', 'lower(persons.lead_source)') }}
    end as is_marketing_source,
    persons.campaign_id,
    persons.created_at,
    persons.lead_records
from persons
cross join rules
left join title_functions on persons.lead_id = title_functions.lead_id
left join {{ ref('int_account_domains') }} as account_domains on persons.domain = account_domains.domain
left join {{ ref('stg_accounts') }} as accounts on account_domains.account_id = accounts.account_id
