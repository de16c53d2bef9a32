-- The SAL definition (CONTRACT s4): every rule passes, fails, or is unknown
-- when a value it needs is missing. This model is the only place the SAL rules
-- live, and each rule is ONE entry of the list in `evaluations` below: its name
-- (the key of the rules file) and a CASE giving 'passed', 'failed' or 'unknown'
-- from the lead and the rule's settings (`rules.<column>`, see
-- orchestration/baton/lib/rules.py). Everything after the list is generic:
-- which rules are in force (the file's `sal_rules`: a rule left out is not
-- evaluated), rule_results, sal_status and sal_reasons, for any number of rules.
-- A rule's settings are NULL when the file leaves it out, and its entry is then
-- computed and dropped: it must not raise on NULL settings.
-- Incremental like int_leads_enriched (the same leads are recomputed).
{{ config(
    materialized=change_set_materialization(),
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

evaluations as (
    select
        leads.lead_id,
        rules.rules_version,
        rules.sal_rules,
        {%- set entries %}
        -- one entry per SAL rule, in any order
        [
            -- company_size: the employee count is an interval [low, high] (CONTRACT s8;
            -- high null: `A+`, no upper bound; a plain number n is [n, n], also where only
            -- employee_count is set): passed when the whole interval lies within the
            -- bounds, failed when it lies wholly outside them, unknown when it straddles
            -- a bound or is missing
            {rule: 'company_size', result: case
                when coalesce(leads.employee_count_min, leads.employee_count) is null then 'unknown'
                when coalesce(leads.employee_count_min, leads.employee_count) > rules.company_size_min_exclusive
                    and coalesce(leads.employee_count_max, leads.employee_count) is not null
                    and coalesce(leads.employee_count_max, leads.employee_count) <= rules.company_size_max_inclusive then 'passed'
                when coalesce(leads.employee_count_max, leads.employee_count) <= rules.company_size_min_exclusive
                    or coalesce(leads.employee_count_min, leads.employee_count) > rules.company_size_max_inclusive then 'failed'
                else 'unknown'
            end},
            {rule: 'finance_role', result: case
                when leads.job_function is null then 'unknown'
                when leads.job_function = rules.finance_job_function then 'passed'
                else 'failed'
            end},
            {rule: 'industry', result: case
                when leads.industry is null then 'unknown'
                when {{ list_has('rules.industries', 'leads.industry') }} then 'passed'
                else 'failed'
            end},
        ]
        {%- endset %}
        {{ rule_entries_list(entries) }} as evaluated
    from leads
    cross join rules
),

in_force as (
    -- the rules the file lists, sorted by name (the order of sal_reasons)
    select
        lead_id,
        rules_version,
        sal_rules,
        {{ list_sorted(list_where('evaluated', 'e', list_has('sal_rules', 'e.rule'))) }} as results
    from evaluations
)

select
    lead_id,
    rules_version,
    map_from_entries({{ list_map('results', 'e', struct_of({'key': 'e.rule', 'value': 'e.result'})) }}) as rule_results,
    case
        -- a rule of the rules model (rules.py) in force without its entry above
        when {{ list_size('results') }} <> {{ list_size('sal_rules') }} then {{ raise_sql_error(
            "'int_lead_sal_evaluation: no evaluation for the SAL rule(s) in force: '
            || " ~ list_join(list_where('sal_rules', 'name', 'not ' ~ list_has(list_map('results', 'e', 'e.rule'), 'name')), "', '")
        ) }}
        when {{ list_has(list_map('results', 'e', 'e.result'), "'failed'") }} then 'rejected'
        when {{ list_has(list_map('results', 'e', 'e.result'), "'unknown'") }} then 'undetermined'
        else 'accepted'
    end as sal_status,
    -- one token per rule that does not pass, sorted by rule name, joined by '; '
    {{ list_join(
        list_map(
            list_where('results', 'e', "e.result in ('failed', 'unknown')"),
            'e', "e.rule || ':' || e.result"
        ),
        "'; '"
    ) }} as sal_reasons
from in_force
