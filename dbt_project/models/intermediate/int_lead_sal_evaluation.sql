-- The SAL definition (CONTRACT s4): every rule passes, fails, or is unknown
-- when a value it needs is missing. Rules left out of the rules file are not
-- evaluated. This model is the only place the SAL rules live.
-- Incremental like int_leads_enriched (the same leads are recomputed).
{{ config(
    materialized='incremental',
    incremental_strategy='change_set',
    unique_key='lead_id',
    meta={'change_set': 'changed_lead_ids'},
) }}

with leads as (
    select * from {{ ref('int_leads_enriched') }}
    where {{ is_to_rebuild('lead_id', changed_lead_ids()) }}
),

rules as (
    select * from {{ ref('stg_config__rules') }}
),

rule_results as (
    select
        leads.lead_id,
        rules.rules_version,
        case
            when not list_contains(rules.sal_rules, 'company_size') then null
            when leads.employee_count is null then 'unknown'
            when leads.employee_count > rules.company_size_min_exclusive
                and leads.employee_count <= rules.company_size_max_inclusive then 'passed'
            else 'failed'
        end as company_size,
        case
            when not list_contains(rules.sal_rules, 'finance_role') then null
            when leads.job_function is null then 'unknown'
            when leads.job_function = rules.finance_job_function then 'passed'
            else 'failed'
        end as finance_role,
        case
            when not list_contains(rules.sal_rules, 'industry') then null
            when leads.industry is null then 'unknown'
            when list_contains(rules.industries, leads.industry) then 'passed'
            else 'failed'
        end as industry
    from leads
    cross join rules
)

select
    lead_id,
    rules_version,
    company_size as rule_company_size,
    finance_role as rule_finance_role,
    industry as rule_industry,
    case
        when 'failed' in (company_size, finance_role, industry) then 'rejected'
        when 'unknown' in (company_size, finance_role, industry) then 'undetermined'
        else 'accepted'
    end as sal_status,
    -- one token per rule that does not pass, sorted by rule name
    concat_ws('; ',
        case when company_size in ('failed', 'unknown') then 'company_size:' || company_size end,
        case when finance_role in ('failed', 'unknown') then 'finance_role:' || finance_role end,
        case when industry in ('failed', 'unknown') then 'industry:' || industry end
    ) as sal_reasons
from rule_results
