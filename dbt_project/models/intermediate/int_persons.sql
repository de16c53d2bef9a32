-- A lead is a person (CONTRACT s3): lead records sharing a normalized email
-- are one lead. Identity fields come from the earliest record (created_at,
-- then smallest lead_id); every other attribute from the most recent record
-- where it is not null (created_at, then largest lead_id).
with records as (
    select
        *,
        coalesce('email:' || email, 'lead_id:' || lead_id) as person_key
    from {{ ref('stg_leads') }}
),

persons as (
    select
        person_key,
        first(lead_id order by created_at, lead_id) as lead_id,
        min(created_at) as created_at,
        first(lead_source order by created_at, lead_id) as lead_source,
        first(campaign_id order by created_at, lead_id) as campaign_id,
        any_value(email) as email,
        {%- for attribute in ['first_name', 'last_name', 'job_title', 'company_name', 'company_domain', 'employee_count', 'industry', 'country'] %}
        first({{ attribute }} order by created_at desc, lead_id desc) filter (where {{ attribute }} is not null) as {{ attribute }},
        {%- endfor %}
        count(*) as lead_records
    from records
    group by person_key
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
            when not list_contains({{ free_mail_domains() }}, {{ email_domain('email') }})
                then {{ email_domain('email') }}
        end
    ) as domain,
    employee_count,
    industry,
    country,
    lead_source,
    campaign_id,
    created_at,
    lead_records
from persons
