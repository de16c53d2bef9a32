-- Incremental like int_leads_enriched (the same leads are recomputed).
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='lead_id',
    on_schema_change='fail',
    meta={'change_set': 'changed_lead_ids'},
) }}

select
    leads.lead_id,
    leads.email,
    leads.account_id,
    leads.domain,
    leads.job_title,
    leads.job_function,
    leads.employee_count,
    leads.employee_count_min,
    leads.employee_count_max,
    leads.industry,
    leads.country,
    leads.lead_source,
    leads.is_marketing_source,
    leads.campaign_id,
    leads.created_at,
    evaluation.sal_status,
    evaluation.sal_reasons,
    evaluation.sal_status = 'accepted' as is_sal,
    evaluation.rule_results,
    evaluation.rules_version,
    leads.lead_records,
    leads.first_name,
    leads.last_name,
    leads.company_name
from {{ ref('int_leads_enriched') }} as leads
inner join {{ ref('int_lead_sal_evaluation') }} as evaluation on leads.lead_id = evaluation.lead_id
where {{ is_to_rebuild('leads.lead_id', changed_lead_ids()) }}
